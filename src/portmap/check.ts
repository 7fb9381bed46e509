import { requirePrevResult } from '../cni/chained';
import type { CmdContext } from '../cni/skel';
import { firewallClient } from '../firewall/client';
import { jailFromNetns, jailIfname } from '../jail/target';
import { publishRequest } from './add';
import type { PortmapConf } from './config';

/**
 * CHECK: without mappings there is nothing to check (as the reference portmap: a runtime that
 * does not pass `portMappings` on CHECK gets success). Otherwise jailnetd checks that it holds
 * the forward, that the anchor holds exactly the rules ADD would load now (compared in pfctl's
 * own printed form), that every host port is reserved and that the proxy listens; code 103
 * names what differs.
 */
export async function portmapCheck(ctx: CmdContext<PortmapConf>): Promise<void> {
  const prev = requirePrevResult(ctx.prevResult, 'portmap', 'CHECK');
  jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  if (ctx.config.mappings.length === 0) return;
  await firewallClient(ctx.config.jailnetd, ctx.env, 'runtimeConfig.').checkForward(publishRequest(ctx, prev));
}
