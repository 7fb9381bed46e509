import { requirePrevResult } from '../cni/chained';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { flushAnchor, loadAnchor } from '../freebsd/pfctl';
import { jailFromNetns, jailIfname } from '../jail/target';
import { log } from '../log/logger';
import { portmapAnchor } from '../pf/anchors';
import { renderPortmapRules } from '../pf/port-rules';
import { withRollback } from '../util/rollback';
import type { PortmapConf } from './config';
import { ensureFilterLocal } from './filter-local';
import { externalInterface } from './external';
import { portsClient } from './jailnetd';
import { earlierEntries, reservationEntries } from './mappings';
import { checkPublishable, needsExternalInterface, planRedirects, publishTarget } from './plan';

/**
 * ADD: publish the mappings of runtimeConfig.portMappings to the jail's address. Everything is
 * checked and rendered first; then jailnetd reserves the host ports (the arbiter between
 * attachments: a port another attachment holds is refused, naming it, before anything changes),
 * net.pf.filter_local is set, and the attachment's anchor is loaded in one pfctl call. A failure
 * releases the reservation. The result is prevResult, unchanged.
 */
export async function portmapAdd(ctx: CmdContext<PortmapConf>): Promise<Result> {
  const conf = ctx.config;
  const prev = requirePrevResult(ctx.prevResult, 'portmap', 'ADD');
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  if (conf.mappings.length === 0) return prev;
  const target = publishTarget(prev, conf.bridge);
  const anchor = portmapAnchor(conf.name, ctx.containerId, ctx.ifname);
  checkPublishable(conf.mappings, target);
  const ext = needsExternalInterface(conf.mappings) ? await externalInterface(conf.externalInterface, target) : undefined;
  const rules = renderPortmapRules(planRedirects(conf.mappings, target, { externalInterface: ext, snat: conf.snat }));

  const ports = portsClient(conf.jailnetd, ctx.env);
  const who = { network: conf.name, containerID: ctx.containerId, ifname: ctx.ifname };
  const entries = reservationEntries(conf.mappings);
  return withRollback(async (rollback) => {
    const held = await ports.reserve({ ...who, jail }, entries);
    rollback.push(`reservation of host ports for ${ctx.containerId}/${ctx.ifname}`, () => ports.release(who, entries));
    if (conf.setFilterLocal) await ensureFilterLocal();
    await loadAnchor(anchor, rules);
    rollback.push(`anchor ${anchor}`, () => flushAnchor(anchor));
    const earlier = earlierEntries(held.ports, entries);
    if (earlier.length > 0) {
      // A repeated ADD with other mappings: the anchor now holds only these, so the ports of the
      // earlier ADD are given back (best effort: the next DEL releases everything anyway).
      await ports.release(who, earlier).catch((err: unknown) => log.warn(`could not release the earlier host ports of ${ctx.containerId}/${ctx.ifname}: ${(err as Error).message}`));
    }
    log.info(`published ${conf.mappings.length} mapping(s) in ${anchor}`, { network: conf.name, containerId: ctx.containerId });
    return prev;
  });
}
