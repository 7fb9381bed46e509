import { ipamAdd, ipamDel } from '../cni/delegate';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { configureInterface, ifw } from '../freebsd/ifconfig';
import { addRoute } from '../freebsd/route';
import { setSysctl } from '../freebsd/sysctl';
import { addJailRoutes, configureJailEnd, configureLoopback } from '../jail/interface';
import { jailFromNetns, jailIfname } from '../jail/target';
import { planAddresses } from '../link/addresses';
import { requestedMac } from '../link/config';
import { createEpairLink, moveIntoJail } from '../link/epair';
import { attachmentMacs, describeHostEnd, hostEndName, HOST_END_GROUP } from '../link/naming';
import { linkResult } from '../link/result';
import { masqueradeAdd } from '../nat/masquerade';
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
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  const hostEnd = hostEndName(ctx.containerId, ctx.ifname);
  const macs = attachmentMacs(ctx.containerId, ctx.ifname);
  const jailMac = requestedMac(conf, ctx.args) ?? macs.jail;

  return withRollback(async (rollback) => {
    const ipam = await ipamAdd(ctx);
    // A repeated ADD finds the attachment's host end taken; the lease IPAM returned is then that
    // attachment's own and must stay.
    let attachmentExists = false;
    rollback.push('IPAM lease', () => (attachmentExists ? Promise.resolve() : ipamDel(ctx)));
    const plan = planAddresses(ipam, { isGateway: true, isDefaultGateway: true });
    if (plan.ips.length === 0) throw new CniError(CniCode.InvalidNetworkConfig, 'IPAM gave no address; the epair plugin needs one', 'check the "ipam" section');
    const jailHosts = plan.ips.map((ip) => hostCidr(addressOf(ip.address)));
    const gatewayHosts = Object.values(plan.gateways).map(hostCidr);

    const v4Gateway = gatewayHosts.find((g) => familyOf(g) === 4);
    const hostEndSpec = {
      name: hostEnd,
      mac: macs.host,
      description: describeHostEnd({ network: conf.name, jail, ifname: ctx.ifname, ips: jailHosts.map(addressOf) }),
      group: HOST_END_GROUP,
      mtu: conf.mtu,
      addressWords: v4Gateway ? [ifw.inetAlias(v4Gateway)] : [],
    };
    const link = await createEpairLink(hostEndSpec, rollback).catch((err: unknown) => {
      attachmentExists = err instanceof CniError && err.code === CniCode.ResourceConflict;
      throw err;
    });
    for (const g of gatewayHosts.filter((c) => familyOf(c) === 6)) await configureInterface(hostEnd, [ifw.inet6Enable(), ifw.inet6(g)]);
    for (const a of jailHosts) await addRoute({ dst: a, interface: hostEnd, family: familyOf(a) });
    await setSysctl('net.inet.ip.forwarding', 1);
    if (gatewayHosts.some((g) => familyOf(g) === 6)) await setSysctl('net.inet6.ip6.forwarding', 1);

    await moveIntoJail(link.jailEnd, jail);
    await configureJailEnd({ jail, arrivedAs: link.jailEnd, ifname: ctx.ifname, mac: jailMac, mtu: conf.mtu, addresses: jailHosts });
    await configureLoopback(jail);
    // The gateway is on the link, not in a connected subnet: reach it through the interface first.
    const gatewayRoutes = Object.values(plan.gateways).map((gw) => ({ dst: hostCidr(gw) }));
    await addJailRoutes(jail, ctx.ifname, gatewayRoutes, {});
    await addJailRoutes(jail, ctx.ifname, plan.routes, plan.gateways);
    if (conf.ipMasq) await masqueradeAdd({ network: conf.name, egressInterface: conf.egressInterface }, jailHosts, rollback);

    const mtu = conf.mtu !== undefined ? { mtu: conf.mtu } : {};
    return linkResult(
      ctx.cniVersion,
      [
        { name: hostEnd, mac: macs.host, ...mtu },
        { name: ctx.ifname, mac: jailMac, ...mtu, sandbox: ctx.netns },
      ],
      plan,
      ipam.dns ?? conf.dns,
    );
  });
}

function hostCidr(address: string): string {
  return `${address}/${familyOf(address) === 4 ? 32 : 128}`;
}
