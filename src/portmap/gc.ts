import type { GcContext } from '../cni/skel';
import { firewallClient } from '../firewall/client';
import type { PortmapConf } from './config';

/**
 * GC: jailnetd tears down this network's attachments that are not in cni.dev/valid-attachments,
 * in one order whichever plugin's GC comes first (daemon/firewall.ts gc): pf anchors of no valid
 * attachment (recorded or not) and proxy sockets, NAT entries, host interfaces, then leases
 * and host ports, so that a port is never free while rules still send it to a jail that is gone.
 * Other networks' anchors are left alone.
 */
export async function portmapGc(ctx: GcContext<PortmapConf>): Promise<void> {
  await firewallClient(ctx.config.jailnetd, ctx.env).gc(ctx.config.name, ctx.validAttachments);
}
