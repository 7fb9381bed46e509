/**
 * Parsers of ifconfig(8) output. Lines are read by keyword, not by position: FreeBSD 13.x and
 * 14.x print the same keywords in different orders, and `-f inet:cidr` prints CIDRs.
 */

export interface InetAddress {
  address: string;
  prefixlen: number;
  broadcast?: string;
}

export interface Inet6Address {
  /** Without the "%scope" suffix. */
  address: string;
  prefixlen: number;
  scopeid?: number;
  flags: string[];
}

export interface BridgeMember {
  name: string;
  flags: string[];
}

export interface InterfaceInfo {
  name: string;
  flags: string[];
  mtu?: number;
  metric?: number;
  description?: string;
  options: string[];
  ether?: string;
  inet: InetAddress[];
  inet6: Inet6Address[];
  groups: string[];
  members: BridgeMember[];
  media?: string;
  status?: string;
  /** Everything else, keyword -> rest of line, for diagnostics. */
  other: Record<string, string>;
}

const HEADER = /^([A-Za-z][A-Za-z0-9_.-]*): flags=([0-9a-fA-F]+)<([^>]*)>(.*)$/;

/** Parses the output of `ifconfig` or `ifconfig IF` (one or more interface blocks). */
export function parseIfconfig(output: string): InterfaceInfo[] {
  const out: InterfaceInfo[] = [];
  let cur: InterfaceInfo | undefined;
  for (const rawLine of output.split('\n')) {
    if (rawLine.trim() === '') continue;
    const header = HEADER.exec(rawLine);
    if (header && !/^\s/.test(rawLine)) {
      cur = {
        name: header[1] as string,
        flags: splitFlags(header[3] as string),
        options: [],
        inet: [],
        inet6: [],
        groups: [],
        members: [],
        other: {},
      };
      const rest = header[4] as string;
      const mtu = /\bmtu (\d+)/.exec(rest);
      if (mtu) cur.mtu = Number(mtu[1]);
      const metric = /\bmetric (\d+)/.exec(rest);
      if (metric) cur.metric = Number(metric[1]);
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    parseDetailLine(cur, rawLine.trim());
  }
  return out;
}

function parseDetailLine(cur: InterfaceInfo, line: string): void {
  const sp = line.indexOf(' ');
  const word = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? '' : line.slice(sp + 1);
  switch (word) {
    case 'description:':
      cur.description = rest;
      return;
    case 'options=': // never produced; options are "options=8<VLAN_MTU>" with no space
      return;
    case 'ether':
    case 'lladdr':
    case 'address:':
      if (!cur.ether) cur.ether = rest.split(' ')[0]?.toLowerCase();
      return;
    case 'inet':
      cur.inet.push(parseInet(rest));
      return;
    case 'inet6':
      cur.inet6.push(parseInet6(rest));
      return;
    case 'groups:':
      cur.groups.push(...rest.split(/\s+/).filter(Boolean));
      return;
    case 'member:': {
      const m = /^(\S+)(?: flags=[0-9a-fA-F]+<([^>]*)>)?/.exec(rest);
      if (m) cur.members.push({ name: m[1] as string, flags: splitFlags(m[2] ?? '') });
      return;
    }
    case 'media:':
      cur.media = rest;
      return;
    case 'status:':
      cur.status = rest;
      return;
    default:
      if (line.startsWith('options=')) {
        cur.options = splitFlags(/<([^>]*)>/.exec(line)?.[1] ?? '');
        return;
      }
      if (!(word in cur.other)) cur.other[word.replace(/:$/, '')] = rest;
  }
}

function splitFlags(s: string): string[] {
  return s.split(',').map((f) => f.trim()).filter(Boolean);
}

function parseInet(rest: string): InetAddress {
  const words = rest.split(/\s+/);
  const first = words[0] ?? '';
  let address = first;
  let prefixlen = 32;
  if (first.includes('/')) {
    const [a, p] = first.split('/');
    address = a as string;
    prefixlen = Number(p);
  }
  const out: InetAddress = { address, prefixlen };
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    const v = words[i + 1];
    if (w === 'netmask' && v) prefixlen = netmaskToPrefix(v);
    if (w === 'broadcast' && v) out.broadcast = v;
  }
  out.prefixlen = prefixlen;
  return out;
}

function parseInet6(rest: string): Inet6Address {
  const words = rest.split(/\s+/);
  const first = words[0] ?? '';
  let [address, prefix] = first.split('/') as [string, string | undefined];
  address = address.split('%')[0] as string;
  const out: Inet6Address = { address, prefixlen: prefix !== undefined ? Number(prefix) : 128, flags: [] };
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    const v = words[i + 1];
    if (w === 'prefixlen' && v) {
      out.prefixlen = Number(v);
      i++;
    } else if (w === 'scopeid' && v) {
      out.scopeid = Number.parseInt(v, 16);
      i++;
    } else if (w === 'pltime' || w === 'vltime') {
      i++;
    } else if (/^[a-z_]+$/.test(w)) {
      out.flags.push(w);
    }
  }
  return out;
}

/**
 * "0xffffff00" or "255.255.255.0" -> 24. in_status_nl() prints the mask with "0x%lx", without
 * leading zeros: a /0 mask is "0x0".
 */
export function netmaskToPrefix(mask: string): number {
  let n: number;
  if (/^0x[0-9a-fA-F]{1,8}$/.test(mask)) n = Number.parseInt(mask.slice(2), 16);
  else if (/^\d+\.\d+\.\d+\.\d+$/.test(mask)) n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  else throw new Error(`unreadable netmask "${mask}"`);
  const v = n >>> 0;
  let bits = 0;
  while (bits < 32 && (v >>> (31 - bits)) & 1) bits++;
  return bits;
}

/** `ifconfig -l`: one line of names separated by spaces. */
export function parseInterfaceList(output: string): string[] {
  return output.split(/\s+/).filter(Boolean);
}

/** `ifconfig -g GROUP`: one member per line; nothing for an unknown group. */
export function parseGroupMembers(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The first line of `ifconfig ... create`: the new interface's name. */
export function parseCreatedName(output: string): string {
  const name = output.trim().split('\n')[0]?.trim() ?? '';
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/.test(name)) throw new Error(`ifconfig printed "${output.trim()}" where it prints the new interface's name`);
  return name;
}
