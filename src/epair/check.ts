import { ipamVerify } from '../link/ipam';
import type { CmdContext } from '../cni/skel';
import { showInterface } from '../freebsd/ifconfig';
import { getRoute } from '../freebsd/route';
import { jailFromNetns, jailIfname } from '../jail/target';
import { checkFailed, checkJailDefaultRoutes, checkJailEnd, heldAddresses, requirePrevResult } from '../link/check';
import { hostEndName } from '../link/naming';
import { checkNat } from '../link/nat';
import { canonicalAddress, familyOf } from '../net/cidr';
import type { EpairConf } from './config';

/** CHECK: the host end is up with the gateway, the host routes to the jail go through it, the jail end is as ADD left it. */
export async function epairCheck(ctx: CmdContext<EpairConf>): Promise<void> {
  const conf = ctx.config;
  const prev = requirePrevResult(ctx.prevResult);
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  await ipamVerify(ctx);
  const hostEnd = hostEndName(ctx.containerId, ctx.ifname);
  const host = await showInterface(hostEnd);
  if (!host) throw checkFailed(`host interface ${hostEnd} of ${ctx.containerId}/${ctx.ifname} does not exist`);
  if (!host.flags.includes('UP')) throw checkFailed(`host interface ${hostEnd} is down`);
  const held = heldAddresses(host);
  for (const ip of prev.ips ?? []) {
    if (ip.gateway && !held.includes(canonicalAddress(ip.gateway))) throw checkFailed(`host interface ${hostEnd} lacks gateway address ${ip.gateway}`);
    const address = ip.address.split('/')[0] as string;
    const route = await getRoute(address, familyOf(address));
    if (route?.interface !== hostEnd) throw checkFailed(`the host's route to ${address} goes ${route?.interface ? `through ${route.interface}` : 'nowhere'}, not through ${hostEnd}`);
  }
  await checkJailEnd(jail, ctx.ifname, prev);
  await checkJailDefaultRoutes(jail, prev);
  if (conf.ipMasq) await checkNat(ctx, (prev.ips ?? []).map((ip) => ip.address));
}
