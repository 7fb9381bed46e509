import type { CmdContext } from '../cni/skel';
import { jailIfname } from '../jail/target';
import { hostEndName } from './naming';
import type { LinkConf } from './config';
import { ipamRelease } from './ipam';
import { leaveNat } from './nat';
import { destroyHostEnd } from './host-ends';

/**
 * DEL for bridge and epair, in the order that frees nothing while something points at it: the
 * NAT entries (ipMasq), then the host end (destroying it destroys both ends of the epair,
 * wherever the jail end is, and the host routes through it), then the lease. The host end's
 * name comes from the container ID and ifname, and jailnetd knows the attachment's NAT, so
 * neither prevResult nor the jail is needed. Everything already gone counts as done.
 */
export async function linkDel(ctx: CmdContext<LinkConf>): Promise<void> {
  jailIfname(ctx.ifname);
  if (ctx.config.ipMasq) await leaveNat(ctx);
  await destroyHostEnd(hostEndName(ctx.containerId, ctx.ifname));
  await ipamRelease(ctx);
}
