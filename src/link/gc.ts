import { runAll } from '../cni/errors';
import type { GcContext } from '../cni/skel';
import { firewallClient } from '../firewall/client';
import { log } from '../log/logger';
import { linkJailnetd, type LinkConf } from './config';
import { destroyHostEnd, staleHostEnds } from './host-ends';
import { ipamCollect, ipamOfJailnetd } from './ipam';

/**
 * GC. When jailnetd holds something of this network (its IPAM is jailnet-ipam or host-local, or ipMasq),
 * jailnetd's GC does it all, in the one safe order whichever plugin's GC the runtime calls
 * first: firewall state of attachments not in cni.dev/valid-attachments, then their host ends
 * (every host end of the network that no valid attachment owns), then leases and host ports.
 * A delegated IPAM plugin then gets its GC. Without jailnetd, this network's stale host ends
 * (group and description, one `ifconfig`) are destroyed here, then IPAM's GC runs.
 */
export async function linkGc(ctx: GcContext<LinkConf>): Promise<void> {
  const conf = ctx.config;
  const withDaemon = conf.ipMasq || ipamOfJailnetd(conf);
  if (withDaemon) await firewallClient(linkJailnetd(conf), ctx.env).gc(conf.name, ctx.validAttachments);
  if (ipamOfJailnetd(conf)) return;
  const stale = withDaemon ? [] : await staleHostEnds(conf.name, ctx.validAttachments);
  // One host end that cannot be destroyed does not keep the others, or IPAM's GC, from running.
  await runAll([
    ...stale.map(({ name, owner }) => async () => {
      log.info(`gc: destroying ${name} (jail ${owner.jail}, ${owner.ifname}), not a valid attachment`, { network: conf.name });
      await destroyHostEnd(name);
    }),
    () => ipamCollect(ctx),
  ]);
}
