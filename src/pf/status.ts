import { CniCode, CniError } from '../cni/errors';
import { isPfEnabled, showRules } from '../freebsd/pfctl';
import { MAIN_RULESET_HOOKS } from './anchors';

/**
 * What STATUS of the pf plugins (nat, portmap) asks: pf is enabled, and the main ruleset has
 * the translation hooks of conf/pf.conf (`pfctl -s nat` prints them as `nat-anchor "jailnet/*" all`).
 */
export async function requirePfWithHooks(plugin: string, hooks: readonly ('nat-anchor' | 'rdr-anchor')[]): Promise<void> {
  if (!(await isPfEnabled())) {
    throw new CniError(CniCode.NotAvailable, `${plugin}: pf is not enabled`, 'sysrc pf_enable=YES && service pf start (conf/pf.conf has the anchor hooks the main ruleset needs)');
  }
  const main = await showRules('nat');
  const missing = MAIN_RULESET_HOOKS.filter((h) => hooks.some((k) => h.startsWith(`${k} `)) && !main.some((line) => line === h || line.startsWith(`${h} `)));
  if (missing.length > 0) {
    throw new CniError(CniCode.NotAvailable, `${plugin}: the main pf ruleset lacks ${missing.map((h) => `\`${h}\``).join(' and ')}, so jailnet's anchors are never evaluated`, 'add the hooks of conf/pf.conf to /etc/pf.conf and reload it (pfctl -f /etc/pf.conf)');
  }
}
