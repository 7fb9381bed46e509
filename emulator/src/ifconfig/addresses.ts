import { isIPv4, isIPv6 } from 'node:net';
import { ToolError } from '../context';

/** Address parsing as FreeBSD's af_inet.c / af_inet6.c / af_link.c do it, with their messages. */

export interface ParsedAddr {
  addr: string;
  prefix?: number;
}

export function parseInet(word: string): ParsedAddr {
  const slash = word.lastIndexOf('/');
  if (slash >= 0) {
    const p = word.slice(slash + 1);
    const a = word.slice(0, slash);
    if (!/^\d+$/.test(p)) throw new ToolError(`${word}: bad value (width invalid)`);
    if (Number(p) > 32) throw new ToolError(`${word}: bad value (width too large)`);
    if (!isIPv4(a)) throw new ToolError(`${a}: bad value`);
    return { addr: a, prefix: Number(p) };
  }
  if (!isIPv4(word)) throw new ToolError(`${word}: bad value`);
  return { addr: word };
}

export function parseInet6(word: string): ParsedAddr {
  const slash = word.lastIndexOf('/');
  let a = word;
  let prefix: number | undefined;
  if (slash >= 0) {
    const p = word.slice(slash + 1);
    a = word.slice(0, slash);
    if (!/^\d+$/.test(p) || Number(p) > 128) throw new ToolError(`${word}: bad value`);
    prefix = Number(p);
  }
  a = a.split('%')[0] as string;
  if (!isIPv6(a)) throw new ToolError(`${word}: bad value`);
  return prefix === undefined ? { addr: a } : { addr: a, prefix };
}

/** "255.255.255.0" or "0xffffff00" -> 24 (af_inet's netmask word). */
export function parseNetmask(word: string): number {
  let n: number;
  if (/^0x[0-9a-fA-F]{1,8}$/.test(word)) n = Number.parseInt(word.slice(2), 16);
  else if (isIPv4(word)) n = word.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  else throw new ToolError(`${word}: bad value`);
  let bits = 0;
  while (bits < 32 && ((n >>> (31 - bits)) & 1) === 1) bits++;
  return bits;
}

/** The historical classful mask FreeBSD applies when an IPv4 address comes without one. */
export function classfulPrefix(addr: string): number {
  const first = Number(addr.split('.')[0]);
  if (first < 128) return 8;
  if (first < 192) return 16;
  return 24;
}

export function parseMac(word: string): string {
  const parts = word.split(/[:.-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) throw new ToolError('malformed link-level address');
  return parts.map((p) => p.padStart(2, '0').toLowerCase()).join(':');
}

/** The modified EUI-64 link-local address of a MAC (what FreeBSD's in6_ifattach assigns). */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((x) => Number.parseInt(x, 16));
  const e = [(b[0] as number) ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]] as number[];
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push((((e[i] as number) << 8) | (e[i + 1] as number)).toString(16));
  return `fe80::${groups.join(':')}`;
}

/** Same IPv6 address, whatever the spelling. */
export function sameInet6(a: string, b: string): boolean {
  return expand6(a) === expand6(b);
}

function expand6(a: string): string {
  const [head, tail] = a.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join(':');
}
