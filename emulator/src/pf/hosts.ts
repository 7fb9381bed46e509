/**
 * What the parser and the compiler need to know about the emulated host's interfaces:
 * names, groups, addresses. Filled from the host's network namespace by `sys.ts`; pure
 * functions here answer pf's questions about it (ifa_lookup, host_if, group membership).
 */
import { BITS, type Family, isLinkLocal6, maskOf } from './addr';

export interface IfaceAddr {
  af: Family;
  v: bigint;
  prefix: number;
  broadcast?: bigint;
  peer?: bigint;
}

export interface Iface {
  /** FreeBSD name (the loopback "lo" of Linux is reported as "lo0"). */
  name: string;
  /** Name of the Linux device (differs only for lo0 -> lo). */
  dev: string;
  loopback: boolean;
  pointopoint: boolean;
  addrs: IfaceAddr[];
  /** Link-layer address (lower case), when the interface has one. */
  mac?: string;
  /** The Linux device of the bridge this interface is a member of (if_bridge's bif). */
  bridge?: string;
  /** Linux's hairpin mode of that bridge port (compile-nft.ts, "bridged DNAT"). */
  hairpin?: boolean;
}

export interface HostInfo {
  ifaces: Iface[];
  /** Interface groups: name -> member interface names (FreeBSD names). */
  groups: Record<string, string[]>;
}

export const EMPTY_HOST: HostInfo = { ifaces: [], groups: {} };

/** Groups from the interfaces' own group lists, plus "all" (every interface), as FreeBSD keeps them. */
export function groupsOf(ifaces: Array<Iface & { groups: string[] }>): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  const add = (g: string, m: string) => {
    const list = (groups[g] ??= []);
    if (!list.includes(m)) list.push(m);
  };
  for (const i of ifaces) {
    add('all', i.name);
    for (const g of i.groups) add(g, i.name);
  }
  return groups;
}

export function findIface(host: HostInfo, name: string): Iface | undefined {
  return host.ifaces.find((i) => i.name === name);
}

/** True when `name` is an interface group with at least one member (pfctl's is_a_group). */
export function isGroup(host: HostInfo, name: string): boolean {
  return (host.groups[name]?.length ?? 0) > 0 && !findIface(host, name);
}

export interface AddrFlags {
  mode?: 'network' | 'broadcast' | 'peer';
  noalias?: boolean;
}

/**
 * Splits pf's interface modifiers off an address spec (`em0:network`, `:broadcast`, `:peer`,
 * `:0`); undefined when a suffix is not one of them (then the spec names no interface).
 */
export function splitIfaceModifiers(spec: string): { name: string; flags: AddrFlags } | undefined {
  let name = spec;
  const flags: AddrFlags = {};
  for (;;) {
    const i = name.lastIndexOf(':');
    if (i < 0) return { name, flags };
    const m = name.slice(i + 1);
    if (m === 'network') flags.mode = 'network';
    else if (m === 'broadcast') flags.mode = 'broadcast';
    else if (m === 'peer') flags.mode = 'peer';
    else if (m === '0') flags.noalias = true;
    else return undefined;
    name = name.slice(0, i);
  }
}

export interface HostAddr {
  af: Family;
  v: bigint;
  prefix: number;
}

/**
 * pfctl's ifa_lookup: the addresses of an interface, a group, or every interface ("self" /
 * null), with the :network, :broadcast, :peer and :0 modifiers.
 */
export function ifaLookup(host: HostInfo, name: string | null, flags: AddrFlags = {}): HostAddr[] {
  let names: string[];
  if (name === null) names = host.ifaces.map((i) => i.name);
  else if (findIface(host, name)) names = [name];
  else names = host.groups[name] ?? [];
  const out: HostAddr[] = [];
  for (const n of names) {
    const iface = findIface(host, n);
    if (!iface) continue;
    let got4 = false;
    let got6 = false;
    for (const a of iface.addrs) {
      if (flags.mode === 'broadcast' && (a.af !== 4 || a.broadcast === undefined)) continue;
      if (flags.mode === 'peer' && (!iface.pointopoint || a.peer === undefined)) continue;
      if (flags.mode === 'network' && a.af === 6 && isLinkLocal6(a.v)) continue;
      if (flags.noalias && a.af === 4 && got4) continue;
      if (flags.noalias && a.af === 6 && (isLinkLocal6(a.v) || got6)) continue;
      if (a.af === 4) got4 = true;
      else got6 = true;
      if (flags.mode === 'broadcast') out.push({ af: 4, v: a.broadcast as bigint, prefix: 32 });
      else if (flags.mode === 'peer') out.push({ af: a.af, v: a.peer as bigint, prefix: BITS[a.af] });
      else if (flags.mode === 'network') out.push({ af: a.af, v: a.v & maskOf(a.af, a.prefix), prefix: a.prefix });
      else out.push({ af: a.af, v: a.v, prefix: BITS[a.af] });
    }
  }
  return out;
}

/**
 * The members of the host's bridges, in name order, with the link-layer addresses their bridge
 * keeps as its own: if_bridge.c's GRAB_OUR_PACKETS delivers a frame locally when its
 * destination is the bridge's address or any member's; every other unicast frame is bridged.
 */
export interface BridgePort {
  dev: string;
  bridge: string;
  localMacs: string[];
}

export function bridgePorts(host: HostInfo): BridgePort[] {
  const out: BridgePort[] = [];
  for (const m of host.ifaces) {
    if (!m.bridge) continue;
    const bridge = m.bridge;
    const macs = host.ifaces.filter((i) => (i.dev === bridge || i.bridge === bridge) && i.mac).map((i) => i.mac as string);
    out.push({ dev: m.dev, bridge, localMacs: [...new Set(macs)].sort() });
  }
  return out.sort((a, b) => (a.dev < b.dev ? -1 : a.dev > b.dev ? 1 : 0));
}

/** Every Linux device name that `on NAME` covers: the interface itself, or the members of a group. */
export function devicesFor(host: HostInfo, name: string): string[] {
  const iface = findIface(host, name);
  if (iface) return [iface.dev];
  const members = host.groups[name];
  if (members && members.length) return members.map((m) => findIface(host, m)?.dev ?? m);
  if (name === 'lo0') return ['lo'];
  return [name];
}
