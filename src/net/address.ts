import { isIPv6 } from 'node:net';

/**
 * IP addresses as numbers: an address is its family and its value as a bigint, so that range
 * arithmetic is the same for IPv4 and IPv6. Parsing and formatting are written out here rather
 * than taken from ip-num because they run once per lease at start-up (65,000 times on a full
 * /16) and once per allocation; ip-num goes through binary strings and is ~50x slower here.
 * Text forms follow RFC 5952 (lower case, longest run of zero groups as "::").
 */

export type Family = 4 | 6;

export interface Address {
  family: Family;
  value: bigint;
}

export const FAMILY_BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** The address in `text`, or undefined when it is not a plain IPv4 or IPv6 address (no zone, no prefix). */
export function parseAddress(text: string): Address | undefined {
  const v4 = parseIpv4(text);
  if (v4 >= 0) return { family: 4, value: BigInt(v4) };
  if (!text.includes('.') || text.includes(':')) {
    if (isIPv6(text) && !text.includes('%')) return { family: 6, value: ipv6ToBigInt(text) };
  }
  return undefined;
}

/**
 * The value of a dotted-quad IPv4 address, or -1. Same rules as net.isIPv4 (four decimal
 * octets of at most 255, no leading zeros), without its regular expression: this runs for
 * every lease when the state is read.
 */
export function parseIpv4(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** "10.0.0.1/24" -> the address and the prefix length; undefined when malformed. */
export function parseCidr(text: string): { address: Address; prefix: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > FAMILY_BITS[address.family]) return undefined;
  return { address, prefix };
}

/** An address with or without a "/prefix" suffix (runtimeConfig.ips carries CIDRs, IP= does not). */
export function parseAddressOrCidr(text: string): Address | undefined {
  const slash = text.indexOf('/');
  return slash < 0 ? parseAddress(text) : parseCidr(text)?.address;
}

export function formatAddress(family: Family, value: bigint): string {
  return family === 4 ? numberToIpv4(Number(value)) : bigIntToIpv6(value);
}

export function formatAddressOf(a: Address): string {
  return formatAddress(a.family, a.value);
}

/** The canonical text of an address given as text, or undefined when it is not one. */
export function canonicalAddress(text: string): string | undefined {
  const a = parseAddress(text);
  return a ? formatAddressOf(a) : undefined;
}

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(FAMILY_BITS[family]);
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefix))) & all;
}

function ipv4ToNumber(text: string): number {
  let value = 0;
  let octet = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      value = value * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (c - 48);
    }
  }
  return value * 256 + octet;
}

/** Flat strings (join), not ropes (template literals): every lease keeps its address text. */
function numberToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function ipv6ToBigInt(text: string): bigint {
  // isIPv6 has validated the syntax; an embedded IPv4 tail becomes two groups.
  let groupsText = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToNumber(tail);
    groupsText = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const gap = groupsText.indexOf('::');
  let head: string[];
  let rest: string[] = [];
  if (gap >= 0) {
    const left = groupsText.slice(0, gap);
    const right = groupsText.slice(gap + 2);
    head = left === '' ? [] : left.split(':');
    rest = right === '' ? [] : right.split(':');
  } else {
    head = groupsText.split(':');
  }
  const zeros = 8 - head.length - rest.length;
  let value = 0n;
  for (const g of head) value = (value << 16n) | BigInt(parseInt(g, 16));
  for (let i = 0; i < zeros; i++) value <<= 16n;
  for (const g of rest) value = (value << 16n) | BigInt(parseInt(g, 16));
  return value;
}

function bigIntToIpv6(value: bigint): string {
  const groups: number[] = new Array<number>(8);
  let v = value;
  for (let i = 7; i >= 0; i--) {
    groups[i] = Number(v & 0xffffn);
    v >>= 16n;
  }
  // Longest run of two or more zero groups, the first one on a tie (RFC 5952 4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return [hex(0, bestStart), hex(bestStart + bestLen, 8)].join('::');
}
