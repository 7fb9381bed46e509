import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { addJailRoutes, configureJailEnd, configureLoopback, rememberDefaultRoutes } from '../jail/interface';
import { planAddresses } from '../link/addresses';
import { isNewJail } from '../link/args';
import { known } from '../link/known';
import { beginAttachment } from '../link/attachment';
import { moveIntoJail } from '../link/epair';
import { describeHostEnd } from '../link/naming';
import { serveDns } from '../link/dns';
import { linkResult } from '../link/result';
import { joinNat } from '../link/nat';
import { addressOf } from '../net/cidr';
import { withRollback } from '../util/rollback';
import type { BridgeConf } from './config';
import { attachToBridge, lookAtBridge } from './device';

/**
 * ADD: addresses from IPAM, an epair whose host end joins the bridge (created on first use) and
 * whose other end becomes CNI_IFNAME in the jail, routes in the jail, NAT when ipMasq, and lo0
 * in the jail. Every step registers its undo; a failure undoes them all before returning. lo0
 * is last and has no undo: nothing can fail after it (see configureLoopback).
 */
export async function bridgeAdd(ctx: CmdContext<BridgeConf>): Promise<Result> {
  const conf = ctx.config;
  return withRollback(async (rollback) => {
    const a = await beginAttachment(ctx, rollback, { gatewayOnHost: conf.isGateway });
    const plan = planAddresses(a.ipam, conf);
    const addresses = plan.ips.map((ip) => ip.address);
    const setup = { name: conf.bridge, network: conf.name, gatewayCidrs: conf.isGateway ? plan.gatewayCidrs : [], mtu: conf.mtu, promisc: conf.promiscMode, forceAddress: conf.forceAddress };
    // Before the epair: a bridge name taken by another kind of interface, or a subnet the host
    // uses, is refused while nothing has changed.
    const subnets = conf.isGateway ? plan.gatewayCidrs : addresses;
    const seen = await lookAtBridge(setup, subnets);

    const link = await a.createLink({
      description: describeHostEnd({ network: conf.name, jail: a.jail, ifname: ctx.ifname, ips: addresses.map(addressOf) }),
      mtu: conf.mtu,
    });
    const bridge = await attachToBridge(setup, link.hostEnd, { isolate: conf.portIsolation, promisc: conf.promiscMode }, rollback, seen, subnets);
    // The gateway is on the bridge now: jailnetd's DNS server can listen there.
    const dns = a.dns ? await serveDns(ctx) : undefined;
    await moveIntoJail(link.jailEnd, a.jail);
    await configureJailEnd({ jail: a.jail, arrivedAs: link.jailEnd, ifname: ctx.ifname, mac: a.jailMac, mtu: conf.mtu, addresses });
    // Vouched for by the caller, and never finished an ADD here (its lo0 would be known then).
    const newJail = isNewJail(ctx.args) && !known.loopbackReady(a.jailId);
    plan.routes = await addJailRoutes(a.jail, ctx.ifname, plan.routes, plan.gateways, a.jailId, newJail);
    if (conf.ipMasq) await joinNat(ctx, a.jail, addresses, rollback);
    // Last, so that no failure comes after it: a failed ADD leaves lo0 as it found it.
    await configureLoopback(a.jail, { id: a.jailId, newJail });
    rememberDefaultRoutes(a.jailId, a.hostEnd, plan.routes);

    const mtu = conf.mtu !== undefined ? { mtu: conf.mtu } : {};
    return linkResult(
      ctx.cniVersion,
      [
        { name: bridge.name, ...(bridge.mac ? { mac: bridge.mac } : {}), ...mtu },
        { name: a.hostEnd, mac: a.hostMac, ...mtu },
        { name: ctx.ifname, mac: a.jailMac, ...mtu, sandbox: ctx.netns },
      ],
      plan,
      dns ?? a.ipam.dns ?? conf.dns,
    );
  });
}
