import { isIPv4, isIPv6 } from 'node:net';

/**
 * Address arithmetic the plugins need at every call (network of a CIDR, first host, same
 * subnet), on BigInt. Plugins start once per CNI call; ip-num adds ~20 ms to a start, so the
 * plugins use these few functions and the long-running daemon uses ip-num.
 */

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The address as written (host bits kept). */
  address: bigint;
  prefix: number;
}

const bits = (f: Family) => (f === 4 ? 32 : 128);

export function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

export function parseAddress(text: string): { family: Family; value: bigint } {
  if (isIPv4(text)) return { family: 4, value: text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (isIPv6(text)) return { family: 6, value: parseIpv6(text) };
  throw new Error(`"${text}" is not an IP address`);
}

function parseIpv6(text: string): bigint {
  let t = text;
  // An embedded IPv4 tail ("::ffff:10.0.0.1") becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const n = parseAddress(v4[1] as string).value;
    t = `${t.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = t.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // Longest run of zero groups (length >= 2) becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`"${text}" is not a CIDR (address/prefix)`);
  const { family, value } = parseAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > bits(family)) throw new Error(`"${text}" has an invalid prefix length`);
  return { family, address: value, prefix };
}

function mask(family: Family, prefix: number): bigint {
  const total = BigInt(bits(family));
  return ((1n << total) - 1n) ^ ((1n << (total - BigInt(prefix))) - 1n);
}

/** The network address of a CIDR, as a bigint. */
export function networkOf(c: Cidr): bigint {
  return c.address & mask(c.family, c.prefix);
}

/** "10.88.0.5/16" -> "10.88.0.0/16". */
export function networkCidr(text: string): string {
  const c = parseCidr(text);
  return `${formatAddress(c.family, networkOf(c))}/${c.prefix}`;
}

/** The first host of the subnet ("10.88.0.5/16" -> "10.88.0.1"), the conventional gateway. */
export function firstHost(text: string): string {
  const c = parseCidr(text);
  return formatAddress(c.family, networkOf(c) + 1n);
}

/** The address part of a CIDR. */
export function addressOf(text: string): string {
  return text.slice(0, text.indexOf('/'));
}

export function inSubnet(address: string, cidrText: string): boolean {
  const c = parseCidr(cidrText);
  const a = parseAddress(address);
  return a.family === c.family && (a.value & mask(c.family, c.prefix)) === networkOf(c);
}

export function isDefaultRoute(dst: string): boolean {
  return dst === '0.0.0.0/0' || dst === '::/0';
}

/** Canonical text of an address (lower case, "::" compression), for comparisons. */
export function canonicalAddress(text: string): string {
  const { family, value } = parseAddress(text);
  return formatAddress(family, value);
}
