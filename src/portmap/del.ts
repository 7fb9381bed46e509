import type { CmdContext } from '../cni/skel';
import { flushAnchor } from '../freebsd/pfctl';
import { jailFromNetns, jailIfname } from '../jail/target';
import { portmapAnchor } from '../pf/anchors';
import type { PortmapConf } from './config';
import { portsClient } from './jailnetd';

/**
 * DEL: empties the attachment's anchor (its name comes from network, container ID and ifname,
 * so neither prevResult, nor the mappings, nor the jail are needed) and releases its host ports.
 * Both succeed when already done. pf states of connections still open to the jail are left to
 * expire: `pfctl -k` selects states by address, and a redirected connection's state is keyed by
 * the host's address on the outside, so it cannot be picked per jail without cutting others.
 */
export async function portmapDel(ctx: CmdContext<PortmapConf>): Promise<void> {
  const conf = ctx.config;
  // Neither is needed (the jail may be gone), but a hostile one fails like in every jailnet plugin.
  if (ctx.netns !== '') jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  await flushAnchor(portmapAnchor(conf.name, ctx.containerId, ctx.ifname));
  await portsClient(conf.jailnetd, ctx.env).release({ network: conf.name, containerID: ctx.containerId, ifname: ctx.ifname });
}
