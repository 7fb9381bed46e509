import { ipamGc } from '../cni/delegate';
import type { GcContext } from '../cni/skel';
import { destroyInterface, listInterfaces } from '../freebsd/ifconfig';
import { log } from '../log/logger';
import { masqueradeRemove } from '../nat/masquerade';
import type { LinkConf } from './config';
import { HOST_END_GROUP, HOST_END_PREFIX, hostEndName, parseHostEndDescription } from './naming';

/**
 * GC: destroys this network's host ends (found by group and description in one `ifconfig`
 * call) whose attachment is not in cni.dev/valid-attachments, undoes their NAT, and passes GC
 * on to IPAM so their leases go too.
 */
export async function linkGc(ctx: GcContext<LinkConf>): Promise<void> {
  const conf = ctx.config;
  const valid = new Set(ctx.validAttachments.map((a) => hostEndName(a.containerID, a.ifname)));
  for (const info of await listInterfaces()) {
    if (!info.name.startsWith(HOST_END_PREFIX) || !info.groups.includes(HOST_END_GROUP) || valid.has(info.name)) continue;
    const owner = parseHostEndDescription(info.description);
    if (owner?.network !== conf.name) continue;
    log.info(`gc: destroying ${info.name} (jail ${owner.jail}, ${owner.ifname}), not a valid attachment`, { network: conf.name });
    await destroyInterface(info.name);
    if (conf.ipMasq) await masqueradeRemove({ network: conf.name }, owner.ips);
  }
  if (conf.ipam?.type) await ipamGc(ctx);
}
