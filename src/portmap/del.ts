import type { CmdContext } from '../cni/skel';
import { firewallClient } from '../firewall/client';
import { jailFromNetns, jailIfname } from '../jail/target';
import type { PortmapConf } from './config';

/**
 * DEL: jailnetd removes the attachment's port forwards (its pf anchor, found from network,
 * container ID and ifname, so neither prevResult, nor the mappings, nor the jail are needed;
 * then the proxy's sockets) and then releases its host ports. Succeeds when already done. pf
 * states of connections still open to the jail are left to expire: `pfctl -k` selects states by
 * address, and a redirected connection's state is keyed by the host's address on the outside,
 * so it cannot be picked per jail without cutting others.
 */
export async function portmapDel(ctx: CmdContext<PortmapConf>): Promise<void> {
  // Neither is needed (the jail may be gone), but a hostile one fails like in every jailnet plugin.
  if (ctx.netns !== '') jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  await firewallClient(ctx.config.jailnetd, ctx.env).unpublish({ network: ctx.config.name, containerID: ctx.containerId, ifname: ctx.ifname });
}
