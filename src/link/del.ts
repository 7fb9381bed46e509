import { ipamDel } from '../cni/delegate';
import type { CmdContext } from '../cni/skel';
import { jailIfname } from '../jail/target';
import { destroyInterface, showInterface } from '../freebsd/ifconfig';
import { hostEndName, parseHostEndDescription } from './naming';
import { masqueradeRemove } from '../nat/masquerade';
import type { LinkConf } from './config';

/**
 * DEL for bridge and epair: destroying the host end destroys both ends of the epair, wherever the
 * jail end is (in the jail, or back on the host after the jail was removed). The name comes from
 * the container ID and ifname, so neither prevResult nor the jail is needed. Everything already
 * gone counts as done. Routes through the host end (epair) go with the interface.
 */
export async function linkDel(ctx: CmdContext<LinkConf>): Promise<void> {
  const conf = ctx.config;
  jailIfname(ctx.ifname);
  const hostEnd = hostEndName(ctx.containerId, ctx.ifname);
  let ips = ctx.prevResult?.ips?.map((ip) => ip.address.split('/')[0] as string);
  if (ips === undefined && conf.ipMasq) {
    ips = parseHostEndDescription((await showInterface(hostEnd))?.description)?.ips;
  }
  await destroyInterface(hostEnd);
  if (conf.ipMasq && ips?.length) await masqueradeRemove({ network: conf.name }, ips);
  if (conf.ipam?.type) await ipamDel(ctx);
}
