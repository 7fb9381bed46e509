import { requirePrevResult } from '../cni/chained';
import type { CmdContext } from '../cni/skel';
import { parseAnchorRules, showRules } from '../freebsd/pfctl';
import { jailFromNetns, jailIfname } from '../jail/target';
import { checkFailed } from '../link/check';
import { portmapAnchor } from '../pf/anchors';
import { renderPortmapRules } from '../pf/port-rules';
import type { PortmapConf } from './config';
import { externalInterface } from './external';
import { portsClient } from './jailnetd';
import { describeMapping, type PortMapping } from './mappings';
import { checkPublishable, needsExternalInterface, planRedirects, publishTarget } from './plan';

/**
 * CHECK: the anchor holds exactly the rules ADD would load now (compared in pfctl's own printed
 * form: the expected rules go through `pfctl -nv`, the loaded ones come from `-s nat`), and
 * jailnetd holds every host port for this attachment. A failure (code 103) names what differs.
 */
export async function portmapCheck(ctx: CmdContext<PortmapConf>): Promise<void> {
  const conf = ctx.config;
  const prev = requirePrevResult(ctx.prevResult, 'portmap', 'CHECK');
  jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  const anchor = portmapAnchor(conf.name, ctx.containerId, ctx.ifname);
  const target = publishTarget(prev, conf.bridge);
  if (conf.mappings.length === 0) {
    const loaded = await showRules('nat', anchor);
    if (loaded.length > 0) throw checkFailed(`anchor ${anchor} holds ${loaded.length} rule(s) but the attachment publishes no port`);
    return;
  }
  checkPublishable(conf.mappings, target);
  const ext = needsExternalInterface(conf.mappings) ? await externalInterface(conf.externalInterface, target) : undefined;
  const expected = await parseAnchorRules(anchor, renderPortmapRules(planRedirects(conf.mappings, target, { externalInterface: ext, snat: conf.snat })));
  const loaded = await showRules('nat', anchor);
  const missing = expected.filter((r) => !loaded.includes(r));
  if (missing.length > 0) throw checkFailed(`anchor ${anchor} lacks ${missing.length === 1 ? 'the rule' : `${missing.length} rules, first`} \`${missing[0]}\``);
  const extra = loaded.filter((r) => !expected.includes(r));
  if (extra.length > 0) throw checkFailed(`anchor ${anchor} has a rule ADD would not load: \`${extra[0]}\``);

  const held = (await portsClient(conf.jailnetd, ctx.env).list(conf.name, ctx.containerId)).find((r) => r.ifname === ctx.ifname)?.ports ?? [];
  const covered = (m: PortMapping) => held.some((h) => h.protocol === m.protocol && h.hostIP === (m.hostIP ?? '') && h.hostPort <= m.hostPort && m.hostPortEnd <= h.hostPortEnd);
  const unreserved = conf.mappings.find((m) => !covered(m));
  if (unreserved) throw checkFailed(`host port ${describeMapping(unreserved)} is not reserved for ${ctx.containerId}/${ctx.ifname} in jailnetd`);
}
