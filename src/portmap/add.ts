import { requirePrevResult } from '../cni/chained';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { firewallClient } from '../firewall/client';
import type { PublishRequest } from '../ipam/api-types';
import { jailFromNetns, jailIfname } from '../jail/target';
import { log } from '../log/logger';
import type { PortmapConf } from './config';
import { checkPublishable, publishTarget } from './plan';

/** The request that publishes (and CHECKs) this attachment's mappings to the jail of prevResult. */
export function publishRequest(ctx: CmdContext<PortmapConf>, prev: Result): PublishRequest {
  const conf = ctx.config;
  const target = publishTarget(prev, conf.bridge);
  // Refused here (code 7), before jailnetd is asked for anything.
  checkPublishable(conf.mappings, target);
  const req: PublishRequest = { network: conf.name, containerID: ctx.containerId, ifname: ctx.ifname, mappings: conf.mappings, target, snat: conf.snat, userlandProxy: conf.userlandProxy };
  if (conf.externalInterface !== undefined) req.externalInterface = conf.externalInterface;
  return req;
}

/**
 * ADD: publish the mappings of runtimeConfig.portMappings to the jail's address, in one request
 * to jailnetd, which reserves the host ports (refusing, naming the holder, a port another
 * attachment has), opens the userland proxy's sockets (refusing a port another program holds),
 * and loads the attachment's pf anchor in one pfctl call; a failure there takes back what that
 * request did and nothing else. The result is prevResult, unchanged.
 */
export async function portmapAdd(ctx: CmdContext<PortmapConf>): Promise<Result> {
  const prev = requirePrevResult(ctx.prevResult, 'portmap', 'ADD');
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  if (ctx.config.mappings.length === 0) return prev;
  const req = publishRequest(ctx, prev);
  await firewallClient(ctx.config.jailnetd, ctx.env, 'runtimeConfig.').publish({ ...req, jail });
  log.info(`published ${ctx.config.mappings.length} mapping(s)`, { network: ctx.config.name, containerId: ctx.containerId });
  return prev;
}
