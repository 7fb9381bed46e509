import { ipamVerify } from '../link/ipam';
import type { CmdContext } from '../cni/skel';
import { listInterfaces } from '../freebsd/ifconfig';
import { jailFromNetns, jailIfname } from '../jail/target';
import { checkFailed, checkJailDefaultRoutes, checkJailEnd, heldAddresses, requirePrevResult } from '../link/check';
import { hostEndName } from '../link/naming';
import { checkNat } from '../link/nat';
import { canonicalAddress } from '../net/cidr';
import type { BridgeConf } from './config';

/**
 * CHECK: IPAM agrees; the bridge exists with the gateway addresses; the host end exists, is up
 * and is a member; the jail end has its MAC and addresses; the default routes are in place; the
 * NAT anchor has its rule. One `ifconfig` call lists the host side.
 */
export async function bridgeCheck(ctx: CmdContext<BridgeConf>): Promise<void> {
  const conf = ctx.config;
  const prev = requirePrevResult(ctx.prevResult);
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  await ipamVerify(ctx);

  const hostEnd = hostEndName(ctx.containerId, ctx.ifname);
  const all = await listInterfaces();
  const bridge = all.find((i) => i.name === conf.bridge);
  if (!bridge) throw checkFailed(`bridge ${conf.bridge} does not exist`);
  if (!bridge.groups.includes('bridge')) throw checkFailed(`interface ${conf.bridge} is not a bridge`);
  const host = all.find((i) => i.name === hostEnd);
  if (!host) throw checkFailed(`host interface ${hostEnd} of ${ctx.containerId}/${ctx.ifname} does not exist`);
  if (!host.flags.includes('UP')) throw checkFailed(`host interface ${hostEnd} is down`);
  if (!bridge.members.some((m) => m.name === hostEnd)) throw checkFailed(`host interface ${hostEnd} is not a member of bridge ${conf.bridge}`);
  if (conf.isGateway) {
    const held = heldAddresses(bridge);
    for (const ip of prev.ips ?? []) {
      if (ip.gateway && !held.includes(canonicalAddress(ip.gateway))) throw checkFailed(`bridge ${conf.bridge} lacks gateway address ${ip.gateway}`);
    }
  }
  await checkJailEnd(jail, ctx.ifname, prev);
  await checkJailDefaultRoutes(jail, prev);
  if (conf.ipMasq) await checkNat(ctx, (prev.ips ?? []).map((ip) => ip.address));
}
