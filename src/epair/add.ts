import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { configureInterface, ifw } from '../freebsd/ifconfig';
import { addRoute } from '../freebsd/route';
import { addJailRoutes, configureJailEnd, configureLoopback, rememberDefaultRoutes } from '../jail/interface';
import { planAddresses } from '../link/addresses';
import { beginAttachment } from '../link/attachment';
import { moveIntoJail } from '../link/epair';
import { enableForwarding } from '../link/forwarding';
import { describeHostEnd } from '../link/naming';
import { serveDns } from '../link/dns';
import { requireNoHostConflict } from '../link/host-conflicts';
import { linkResult } from '../link/result';
import { ipamOfJailnetd } from '../link/ipam';
import { joinNat } from '../link/nat';
import { addressOf, familyOf } from '../net/cidr';
import { withRollback } from '../util/rollback';
import type { EpairConf } from './config';

/**
 * ADD: a point-to-point link, no bridge (the reference ptp plugin on FreeBSD). The host end
 * holds the gateway as a host address (/32, /128) and a host route to each jail address; the
 * jail end holds the jail's addresses as host addresses, a route to the gateway through the
 * link and the default route through the gateway. Jails reach each other through the host.
 */
export async function epairAdd(ctx: CmdContext<EpairConf>): Promise<Result> {
  const conf = ctx.config;
  return withRollback(async (rollback) => {
    const a = await beginAttachment(ctx, rollback, { gatewayOnHost: true });
    const plan = planAddresses(a.ipam, { isGateway: true, isDefaultGateway: true });
    if (plan.ips.length === 0) throw new CniError(CniCode.InvalidNetworkConfig, 'IPAM gave no address; the epair plugin needs one', 'check the "ipam" section');
    // jailnetd compares a network's ranges with the host's addresses and routes when it first
    // sees them; with another IPAM plugin that has to happen here, at every ADD (two commands).
    if (!ipamOfJailnetd(conf)) await requireNoHostConflict(conf.name, plan.ips.map((ip) => ip.address));
    const jailHosts = plan.ips.map((ip) => hostCidr(addressOf(ip.address)));
    const gatewayHosts = Object.values(plan.gateways).map(hostCidr);

    const v4Gateway = gatewayHosts.find((g) => familyOf(g) === 4);
    const link = await a.createLink({
      description: describeHostEnd({ network: conf.name, jail: a.jail, ifname: ctx.ifname, ips: jailHosts.map(addressOf) }),
      mtu: conf.mtu,
      addressWords: v4Gateway ? [ifw.inetAlias(v4Gateway)] : [],
    });
    for (const g of gatewayHosts.filter((c) => familyOf(c) === 6)) await configureInterface(a.hostEnd, [ifw.inet6Enable(), ifw.inet6(g)]);
    for (const h of jailHosts) await addRoute({ dst: h, interface: a.hostEnd, family: familyOf(h) });
    // Host-wide, and not undone when a later step fails (src/link/forwarding.ts).
    await enableForwarding(gatewayHosts.some((g) => familyOf(g) === 6) ? [4, 6] : [4]);

    // The gateway is on the host end now: jailnetd's DNS server can listen there (one socket
    // per gateway address serves every host end of the network that carries it).
    const dns = a.dns ? await serveDns(ctx) : undefined;
    await moveIntoJail(link.jailEnd, a.jail);
    await configureJailEnd({ jail: a.jail, arrivedAs: link.jailEnd, ifname: ctx.ifname, mac: a.jailMac, mtu: conf.mtu, addresses: jailHosts });
    // The gateway is on the link, not in a connected subnet: reach it through the interface first.
    const gatewayRoutes = Object.values(plan.gateways).map((gw) => ({ dst: hostCidr(gw) }));
    await addJailRoutes(a.jail, ctx.ifname, gatewayRoutes, {});
    plan.routes = await addJailRoutes(a.jail, ctx.ifname, plan.routes, plan.gateways, a.jailId);
    if (conf.ipMasq) await joinNat(ctx, a.jail, jailHosts, rollback);
    // Last, so that no failure comes after it: a failed ADD leaves lo0 as it found it.
    await configureLoopback(a.jail, { id: a.jailId });
    rememberDefaultRoutes(a.jailId, a.hostEnd, plan.routes);

    const mtu = conf.mtu !== undefined ? { mtu: conf.mtu } : {};
    return linkResult(
      ctx.cniVersion,
      [
        { name: a.hostEnd, mac: a.hostMac, ...mtu },
        { name: ctx.ifname, mac: a.jailMac, ...mtu, sandbox: ctx.netns },
      ],
      plan,
      dns ?? a.ipam.dns ?? conf.dns,
    );
  });
}

function hostCidr(address: string): string {
  return `${address}/${familyOf(address) === 4 ? 32 : 128}`;
}
