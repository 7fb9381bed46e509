import { runAll } from '../cni/errors';
import type { GcContext } from '../cni/skel';
import { flushAnchor, listAnchors } from '../freebsd/pfctl';
import { log } from '../log/logger';
import { ANCHOR_ROOT, portmapAnchor, portmapAnchorNetwork } from '../pf/anchors';
import type { PortmapConf } from './config';
import { portsClient } from './jailnetd';

/**
 * GC: empties this network's portmap anchors (`jailnet/pm-NETWORK-*`, listed in one
 * `pfctl -a jailnet -s Anchors`) that belong to no attachment of cni.dev/valid-attachments,
 * then releases the host ports jailnetd holds for such attachments. Anchors first, so that a
 * port is never free while rules still send it to a jail that is gone.
 */
export async function portmapGc(ctx: GcContext<PortmapConf>): Promise<void> {
  const conf = ctx.config;
  const validAnchors = new Set(ctx.validAttachments.map((a) => portmapAnchor(conf.name, a.containerID, a.ifname)));
  const stale = (await listAnchors(ANCHOR_ROOT)).filter((anchor) => portmapAnchorNetwork(anchor) === conf.name && !validAnchors.has(anchor));
  const ports = portsClient(conf.jailnetd, ctx.env);
  const valid = new Set(ctx.validAttachments.map((a) => `${a.containerID}\0${a.ifname}`));
  // Every flush and release runs even when one fails (runAll, in order: anchors first).
  await runAll([
    ...stale.map((anchor) => async () => {
      log.info(`gc: flushing ${anchor}, not a valid attachment`, { network: conf.name });
      await flushAnchor(anchor);
    }),
    async () => {
      const gone = (await ports.list(conf.name)).filter((r) => !valid.has(`${r.containerID}\0${r.ifname}`));
      await runAll(
        gone.map((r) => async () => {
          log.info(`gc: releasing host ports of ${r.containerID}/${r.ifname}, not a valid attachment`, { network: conf.name });
          await ports.release({ network: conf.name, containerID: r.containerID, ifname: r.ifname });
        }),
      );
    },
  ]);
}
