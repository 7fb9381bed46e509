import { CniCode, CniError } from '../cni/errors';
import { isPfEnabled, showRules } from '../freebsd/pfctl';
import { MAIN_RULESET_HOOKS } from './anchors';

/**
 * Whether pf can carry jailnet's rules: pf is enabled, and the main ruleset has the hooks of
 * conf/pf.conf (`pfctl -s nat` prints the translation hooks as `nat-anchor "jailnet/*" all`,
 * `pfctl -s rules` the filter hook as `anchor "jailnet/*" all`). Without them jailnet's anchors
 * load fine and are never evaluated: NAT, published ports and the firewall plugin's isolation
 * silently do nothing. What STATUS of the pf plugins, the CLI and the hook before ADD, and
 * jailnetd before publishing ports or loading a network's ingress rules ask.
 */

/** A hook of the main ruleset, by its keyword: translation (nat, rdr) or filter (anchor). */
export type PfHook = 'nat-anchor' | 'rdr-anchor' | 'anchor';

export interface PfReadiness {
  enabled: boolean;
  /** The hooks asked for that the main ruleset lacks (in pf.conf's words). */
  missingHooks: string[];
}

/** How long a positive answer is trusted in one process (jailnetd's READY_TRUST_MS is the same). */
export const PF_READY_TRUST_MS = 5_000;
/** The hooks found in place, and until when that is trusted without asking pf again. */
let ready: { hooks: Set<PfHook>; until: number } | undefined;

/**
 * Read-only pfctl calls: `-s info`, then, when pf is enabled, `-s nat` for translation hooks and
 * `-s rules` for the filter hook (each only when asked for). A positive answer is trusted for
 * PF_READY_TRUST_MS in this process: the hook that runs in jailnetd, and jailnetd's NAT and port
 * forwards after it, ask pf once for an attach, not three times (the same trust jailnetd gave its
 * own answers). A negative one is never kept.
 */
export async function pfReadiness(hooks: readonly PfHook[]): Promise<PfReadiness> {
  if (ready && ready.until > Date.now() && hooks.every((h) => ready?.hooks.has(h))) return { enabled: true, missingHooks: [] };
  if (!(await isPfEnabled())) return { enabled: false, missingHooks: [] };
  const wanted = MAIN_RULESET_HOOKS.filter((h) => hooks.some((k) => h.startsWith(`${k} `)));
  const filter = wanted.filter((h) => h.startsWith('anchor '));
  const main = [...(wanted.length > filter.length ? await showRules('nat') : []), ...(filter.length > 0 ? await showRules('rules') : [])];
  const missingHooks = wanted.filter((h) => !main.some((line) => line === h || line.startsWith(`${h} `)));
  if (missingHooks.length === 0) {
    const still = ready && ready.until > Date.now() ? ready.hooks : new Set<PfHook>();
    ready = { hooks: new Set([...still, ...hooks]), until: Date.now() + PF_READY_TRUST_MS };
  }
  return { enabled: true, missingHooks };
}

/** What to add to /etc/pf.conf, as the lines themselves. */
export const PF_CONF_FIX = `add these lines to /etc/pf.conf (conf/pf.conf has them) and reload it with \`pfctl -f /etc/pf.conf\`:\n${MAIN_RULESET_HOOKS.join('\n')}`;

/** Why pf is not ready (message, fix), or undefined when it is. */
export function describeReadiness(r: PfReadiness, who: string): { message: string; fix: string } | undefined {
  if (!r.enabled) return { message: `${who}: pf is not enabled`, fix: `sysrc pf_enable=YES && service pf start; ${PF_CONF_FIX}` };
  if (r.missingHooks.length === 0) return undefined;
  return {
    message: `${who}: the main pf ruleset lacks ${r.missingHooks.map((h) => `\`${h}\``).join(' and ')}, so jailnet's anchors are never evaluated`,
    fix: PF_CONF_FIX,
  };
}

/** STATUS of the pf plugins: code 50 naming what is missing and the lines to add. */
export async function requirePfWithHooks(plugin: string, hooks: readonly PfHook[]): Promise<void> {
  const problem = describeReadiness(await pfReadiness(hooks), plugin);
  if (problem) throw new CniError(CniCode.NotAvailable, problem.message, problem.fix);
}
