import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import { firewallClient } from '../firewall/client';
import { requirePfWithHooks } from '../pf/status';
import type { PortmapConf } from './config';

/**
 * STATUS: pf is enabled, the main ruleset hooks jailnet's anchors for translation (without
 * `rdr-anchor "jailnet/*"` no published port answers), and jailnetd answers (or can be started).
 */
export async function portmapStatus(ctx: CmdContext<PortmapConf>): Promise<void> {
  await requirePfWithHooks('portmap', ['nat-anchor', 'rdr-anchor']);
  try {
    await firewallClient(ctx.config.jailnetd, ctx.env).health();
  } catch (err) {
    const e = CniError.from(err);
    throw new CniError(CniCode.NotAvailable, `portmap: ${e.message}`, e.details);
  }
}
