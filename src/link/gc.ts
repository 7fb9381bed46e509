import { ipamGc } from '../cni/delegate';
import { runAll } from '../cni/errors';
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
  const stale = (await listInterfaces()).flatMap((info) => {
    if (!info.name.startsWith(HOST_END_PREFIX) || !info.groups.includes(HOST_END_GROUP) || valid.has(info.name)) return [];
    const owner = parseHostEndDescription(info.description);
    return owner?.network === conf.name ? [{ name: info.name, owner }] : [];
  });
  // One host end that cannot be destroyed does not keep the others, or IPAM's GC, from running.
  await runAll([
    ...stale.map(({ name, owner }) => async () => {
      log.info(`gc: destroying ${name} (jail ${owner.jail}, ${owner.ifname}), not a valid attachment`, { network: conf.name });
      await destroyInterface(name);
      if (conf.ipMasq) await masqueradeRemove({ network: conf.name }, owner.ips);
    }),
    async () => {
      if (conf.ipam?.type) await ipamGc(ctx);
    },
  ]);
}
