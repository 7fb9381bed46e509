/**
 * IPv4/IPv6 addresses as (family, bigint) pairs: parsing the way pfctl accepts them (inet_pton,
 * inet_net_pton for short IPv4 networks such as "10/8"), printing the way BSD inet_ntop does,
 * and the prefix arithmetic the parser, the tables and the compiler need.
 */

export type Family = 4 | 6;

export interface Ip {
  af: Family;
  v: bigint;
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function maxValue(af: Family): bigint {
  return (1n << BigInt(BITS[af])) - 1n;
}

/** Strict dotted quad (inet_pton): four decimal parts 0-255, no leading "+", no empty parts. */
export function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/**
 * inet_net_pton(AF_INET) for "a[.b[.c[.d]]]" followed by "/bits": missing parts are zero.
 * Returns the value; the caller applies the prefix.
 */
export function parseV4Net(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length < 1 || parts.length > 4) return null;
  let v = 0n;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    let n = 0;
    if (p !== undefined) {
      if (!/^\d{1,3}$/.test(p)) return null;
      n = Number(p);
      if (n > 255) return null;
    }
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** inet_pton(AF_INET6), with an optional "%zone" suffix (ignored, as pf ignores the scope). */
export function parseV6(input: string): bigint | null {
  let s = input;
  const pct = s.indexOf('%');
  if (pct >= 0) {
    if (pct === s.length - 1) return null;
    s = s.slice(0, pct);
  }
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return null;
  let tail4: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const splitGroups = (part: string): string[] | null => {
    if (part === '') return [];
    const g = part.split(':');
    return g.every((x) => /^[0-9A-Fa-f]{1,4}$/.test(x)) ? g : null;
  };
  let groups: string[];
  if (dbl >= 0) {
    const head = splitGroups(s.slice(0, dbl));
    const tail = splitGroups(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  } else {
    const g = splitGroups(s);
    if (!g || g.length !== 8) return null;
    groups = g;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  if (tail4 !== null) v = (v & ~0xffffffffn) | tail4;
  return v;
}

/** An address literal of either family (no prefix). */
export function parseIp(s: string): Ip | null {
  const v4 = parseV4(s);
  if (v4 !== null) return { af: 4, v: v4 };
  const v6 = parseV6(s);
  if (v6 !== null) return { af: 6, v: v6 };
  return null;
}

export function formatV4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((sh) => ((v >> sh) & 0xffn).toString()).join('.');
}

/** BSD inet_ntop6: the longest run (>= 2) of zero words becomes "::"; v4-mapped/compatible tails in dotted form. */
export function formatV6(v: bigint): string {
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += formatV4(v & 0xffffffffn);
      break;
    }
    out += (words[i] as number).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

export function formatIp(ip: Ip): string {
  return ip.af === 4 ? formatV4(ip.v) : formatV6(ip.v);
}

export function maskOf(af: Family, prefix: number): bigint {
  const bits = BITS[af];
  if (prefix <= 0) return 0n;
  return (maxValue(af) >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

/** The network address: host bits cleared (pf's set_ipmask does the same). */
export function network(af: Family, v: bigint, prefix: number): bigint {
  return v & maskOf(af, prefix);
}

/** First and last address of a prefix. */
export function prefixRange(af: Family, v: bigint, prefix: number): [bigint, bigint] {
  const lo = network(af, v, prefix);
  return [lo, lo | (maxValue(af) & ~maskOf(af, prefix))];
}

/** Splits an inclusive range into the fewest prefixes (for printing and for nft where prefixes read better). */
export function rangeToPrefixes(af: Family, lo: bigint, hi: bigint): Array<{ v: bigint; prefix: number }> {
  const out: Array<{ v: bigint; prefix: number }> = [];
  const bits = BITS[af];
  let cur = lo;
  while (cur <= hi) {
    let size = 0;
    while (size < bits) {
      const next = size + 1;
      const block = 1n << BigInt(next);
      if (cur % block !== 0n || cur + block - 1n > hi) break;
      size = next;
    }
    out.push({ v: cur, prefix: bits - size });
    cur += 1n << BigInt(size);
  }
  return out;
}

export function isLinkLocal6(v: bigint): boolean {
  return v >> 118n === 0x3fan;
}
