import { ipamAdd, ipamDel } from '../cni/delegate';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { jailFromNetns, jailIfname } from '../jail/target';
import { addJailRoutes, configureJailEnd, configureLoopback } from '../jail/interface';
import { planAddresses } from '../link/addresses';
import { requestedMac } from '../link/config';
import { createEpairLink, moveIntoJail } from '../link/epair';
import { attachmentMacs, describeHostEnd, hostEndName, HOST_END_GROUP } from '../link/naming';
import { linkResult } from '../link/result';
import { masqueradeAdd } from '../nat/masquerade';
import { withRollback } from '../util/rollback';
import type { BridgeConf } from './config';
import { attachToBridge } from './device';

/**
 * ADD: addresses from IPAM, an epair whose host end joins the bridge (created on first use) and
 * whose other end becomes CNI_IFNAME in the jail, lo0 and routes in the jail,
 * NAT when ipMasq. Every step registers its undo; a failure undoes them all before returning.
 */
export async function bridgeAdd(ctx: CmdContext<BridgeConf>): Promise<Result> {
  const conf = ctx.config;
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  const hostEnd = hostEndName(ctx.containerId, ctx.ifname);
  const macs = attachmentMacs(ctx.containerId, ctx.ifname);
  const jailMac = requestedMac(conf, ctx.args) ?? macs.jail;

  return withRollback(async (rollback) => {
    const ipam: Result = conf.ipam?.type ? await ipamAdd(ctx) : { cniVersion: ctx.cniVersion };
    // A repeated ADD finds the attachment's host end taken; the lease IPAM returned is then that
    // attachment's own and must stay.
    let attachmentExists = false;
    if (conf.ipam?.type) rollback.push('IPAM lease', () => (attachmentExists ? Promise.resolve() : ipamDel(ctx)));
    const plan = planAddresses(ipam, conf);
    const addresses = plan.ips.map((ip) => ip.address);

    const hostEndSpec = {
      name: hostEnd,
      mac: macs.host,
      description: describeHostEnd({ network: conf.name, jail, ifname: ctx.ifname, ips: addresses.map((a) => a.split('/')[0] as string) }),
      group: HOST_END_GROUP,
      mtu: conf.mtu,
    };
    const link = await createEpairLink(hostEndSpec, rollback).catch((err: unknown) => {
      attachmentExists = err instanceof CniError && err.code === CniCode.ResourceConflict;
      throw err;
    });
    const bridge = await attachToBridge(
      { name: conf.bridge, network: conf.name, gatewayCidrs: conf.isGateway ? plan.gatewayCidrs : [], mtu: conf.mtu, promisc: conf.promiscMode, forceAddress: conf.forceAddress },
      link.hostEnd,
      { isolate: conf.portIsolation, promisc: conf.promiscMode },
      rollback,
    );
    await moveIntoJail(link.jailEnd, jail);
    await configureJailEnd({ jail, arrivedAs: link.jailEnd, ifname: ctx.ifname, mac: jailMac, mtu: conf.mtu, addresses });
    await configureLoopback(jail);
    await addJailRoutes(jail, ctx.ifname, plan.routes, plan.gateways);
    if (conf.ipMasq) await masqueradeAdd({ network: conf.name, egressInterface: conf.egressInterface }, addresses, rollback);

    const mtu = conf.mtu !== undefined ? { mtu: conf.mtu } : {};
    return linkResult(
      ctx.cniVersion,
      [
        { name: bridge.name, ...(bridge.mac ? { mac: bridge.mac } : {}), ...mtu },
        { name: hostEnd, mac: macs.host, ...mtu },
        { name: ctx.ifname, mac: jailMac, ...mtu, sandbox: ctx.netns },
      ],
      plan,
      ipam.dns ?? conf.dns,
    );
  });
}
