import { anchorName, networkName } from '../freebsd/names';

/**
 * Where jailnet's pf rules live. The main ruleset hooks `"jailnet/*"` once (conf/pf.conf);
 * every anchor jailnet writes is a direct child of `jailnet`, so the hooks evaluate all of them.
 */
export const ANCHOR_ROOT = 'jailnet';

/** The three hooks the main ruleset needs (what `jailnet doctor` looks for). */
export const MAIN_RULESET_HOOKS = [`nat-anchor "${ANCHOR_ROOT}/*"`, `rdr-anchor "${ANCHOR_ROOT}/*"`, `anchor "${ANCHOR_ROOT}/*"`] as const;

/** The per-network NAT anchor: `jailnet/nat-NETWORK`. */
export function natAnchor(network: string): string {
  return anchorName(`${ANCHOR_ROOT}/nat-${networkName(network)}`);
}

/** The table of a NAT anchor holding the addresses to masquerade. */
export const MASQ_TABLE = 'masq';
