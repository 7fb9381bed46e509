import { anchorName, networkName } from '../freebsd/names';
import { sha256Hex } from '../util/digest';

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

/** The per-network ingress anchor (the firewall plugin's filter rules): `jailnet/iso-NETWORK`. */
export function ingressAnchor(network: string): string {
  return anchorName(`${ANCHOR_ROOT}/iso-${networkName(network)}`);
}

/** The table of a NAT anchor holding the addresses to masquerade. */
export const MASQ_TABLE = 'masq';

/** Prefix of the per-attachment port-publishing anchors: `jailnet/pm-NETWORK-HASH`. */
export const PORTMAP_ANCHOR_PREFIX = `${ANCHOR_ROOT}/pm-`;
/** Hex digits of the attachment hash: `pm-` + a network name (at most 48) + `-` + 11 = 63, pf's limit per component. */
const PORTMAP_HASH_DIGITS = 11;

/**
 * The anchor of one attachment's published ports, a direct child of `jailnet` (the hooks
 * evaluate only those): `jailnet/pm-NETWORK-` and a hash of (network, container ID, ifname).
 * DEL finds it without saved state; GC tells this network's anchors apart by the name.
 */
export function portmapAnchor(network: string, containerId: string, ifname: string): string {
  const hash = sha256Hex(`${network}\0${containerId}\0${ifname}`).slice(0, PORTMAP_HASH_DIGITS);
  return anchorName(`${PORTMAP_ANCHOR_PREFIX}${networkName(network)}-${hash}`);
}

/** The network of a portmap anchor path (as `pfctl -s Anchors` lists it), or undefined for other anchors. */
export function portmapAnchorNetwork(anchor: string): string | undefined {
  if (!anchor.startsWith(PORTMAP_ANCHOR_PREFIX)) return undefined;
  const rest = anchor.slice(PORTMAP_ANCHOR_PREFIX.length);
  const m = new RegExp(`^(.+)-[0-9a-f]{${PORTMAP_HASH_DIGITS}}$`).exec(rest);
  return m && !m[1]?.includes('/') ? m[1] : undefined;
}

/**
 * The per-network anchor of the DNS server's pass rules: `jailnet/0dns-NETWORK`. The
 * `"jailnet/*"` hook evaluates children in strcmp order, and "0" sorts before every other
 * character an anchor name may start with but the other digits (anchorName: letters, digits,
 * "_"), so its `quick` rules come before any isolation rule (src/pf/dns-rules.ts).
 */
export const DNS_ANCHOR_PREFIX = `${ANCHOR_ROOT}/0dns-`;

export function dnsAnchor(network: string): string {
  return anchorName(`${DNS_ANCHOR_PREFIX}${networkName(network)}`);
}
