import { FAMILY_BITS, formatAddress, maskOf, parseAddress as readAddress, type Family } from './address';

/**
 * CIDR arithmetic the plugins need at every call (network of a CIDR, first host, same subnet),
 * on the address numbers of address.ts. Plugins start once per CNI call and ip-num adds ~20 ms
 * to a start; the daemon measured it ~50x slower on its per-lease paths (address.ts).
 */

export type { Family };

export function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

/** An address as family and value; throws when `text` is not a plain IPv4 or IPv6 address. */
export function parseAddress(text: string): { family: Family; value: bigint } {
  const a = readAddress(text);
  if (!a) throw new Error(`"${text}" is not an IP address`);
  return a;
}

export { formatAddress };

export interface Cidr {
  family: Family;
  /** The address as written (host bits kept). */
  address: bigint;
  prefix: number;
}

export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`"${text}" is not a CIDR (address/prefix)`);
  const { family, value } = parseAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > FAMILY_BITS[family]) throw new Error(`"${text}" has an invalid prefix length`);
  return { family, address: value, prefix };
}

/** The network address of a CIDR, as a bigint. */
export function networkOf(c: Cidr): bigint {
  return c.address & maskOf(c.family, c.prefix);
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
  return a.family === c.family && (a.value & maskOf(c.family, c.prefix)) === networkOf(c);
}

export function isDefaultRoute(dst: string): boolean {
  return dst === '0.0.0.0/0' || dst === '::/0';
}

/** Canonical text of an address (lower case, "::" compression), for comparisons. */
export function canonicalAddress(text: string): string {
  const { family, value } = parseAddress(text);
  return formatAddress(family, value);
}
