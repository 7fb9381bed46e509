import type { ForwardHolding, IngressHolding, NatHolding } from '../firewall/holdings';
import type { IngressPolicy } from '../firewall/intent';
import type { PortMapping } from '../portmap/mappings';
import type { Lease } from './lease';
import type { PortEntry, PortProtocol, PortReservation } from './ports';
import type { RangeConfig } from './range';

/**
 * The state changes jailnetd writes to its journal and snapshots. Every record sets or
 * deletes one thing by key (a network's configuration, an attachment's lease, its port
 * reservations, its NAT membership, its port forwards, its ingress policy, a cursor), so applying a record twice gives the same state as applying it
 * once: that is what lets a snapshot be taken while later changes are still being written
 * (store/file-store.ts). Short field names keep the journal of a full /16 small and fast to read.
 */

export interface NetRecord {
  t: 'net';
  net: string;
  /** The ranges with every default written out (canonicalRangeSets). */
  ranges: Required<RangeConfig>[][];
  at: number;
  /** Snapshots only: when the configuration last changed. */
  changedAt?: number;
  /** The domain of the network's DNS names, when its attachments use jailnetd's DNS server. */
  dom?: string;
}

/** [address, prefix, gateway or null, 1 when static] */
export type IpTuple = [string, number, string | null, 0 | 1];

/**
 * A lease: ['L', network, containerID, ifname, jail or 0, ips, createdAt, names?]. An array rather
 * than an object because nearly every record is one of these, and a journal or snapshot of a full
 * /16 holds 65,000 of them: arrays are a quarter smaller and parse a third faster. `names` (the
 * attachment's DNS names) is written only for attachments that use the network's DNS server;
 * journals written before it existed have seven elements and read as leases without DNS.
 */
export type LeaseRecord = ['L', string, string, string, string | 0, IpTuple[], number] | ['L', string, string, string, string | 0, IpTuple[], number, string[]];

export function isLeaseRecord(r: unknown): r is LeaseRecord {
  return Array.isArray(r) && r[0] === 'L';
}

export interface UnleaseRecord {
  t: 'unlease';
  /** attachmentKey */
  k: string;
}

/** [hostIP, protocol, hostPort, hostPortEnd] */
export type PortTuple = [string, PortProtocol, number, number];

export interface PortsRecord {
  t: 'ports';
  n: string;
  c: string;
  i: string;
  j?: string;
  e: PortTuple[];
}

export interface UnportsRecord {
  t: 'unports';
  k: string;
}

/** Snapshots only: the round-robin cursor of a range set. */
export interface CursorRecord {
  t: 'cursor';
  net: string;
  set: number;
  a: string;
}

/** An attachment's NAT membership (src/firewall/holdings.ts), replacing any earlier one. */
export interface NatRecord {
  t: 'nat';
  n: string;
  c: string;
  i: string;
  j?: string;
  /** IPv4 addresses in the network's NAT table. */
  a: string[];
  /** The configured egress interface, when one was. */
  e?: string;
  at: number;
}

export interface UnnatRecord {
  t: 'unnat';
  k: string;
}

/** An attachment's port forwards (the intent: mappings, jail addresses, options), replacing any earlier one. */
export interface FwdRecord {
  t: 'fwd';
  n: string;
  c: string;
  i: string;
  j?: string;
  m: PortMapping[];
  v4?: string;
  v6?: string;
  br?: string;
  /** The configured external interface, when one was. */
  x?: string;
  snat: boolean;
  proxy: boolean;
  at: number;
}

export interface UnfwdRecord {
  t: 'unfwd';
  k: string;
}

/** An attachment's ingress policy (the firewall plugin's), replacing any earlier one. */
export interface IngRecord {
  t: 'ing';
  n: string;
  c: string;
  i: string;
  j?: string;
  p: IngressPolicy;
  br: string;
  /** [subnet, gateway or null] */
  s: [string, string | null][];
  at: number;
}

export interface UningRecord {
  t: 'uning';
  k: string;
}

export type StateRecord = NetRecord | LeaseRecord | UnleaseRecord | PortsRecord | UnportsRecord | CursorRecord | NatRecord | UnnatRecord | FwdRecord | UnfwdRecord | IngRecord | UningRecord;

export function leaseToRecord(l: Lease): LeaseRecord {
  // No jail means the container ID (lease.ts jailOf), which is what runj passes: not written twice.
  const jail = l.jail && l.jail !== l.containerID ? l.jail : 0;
  const ips = l.ips.map((ip): IpTuple => [ip.address, ip.prefix, ip.gateway ?? null, ip.static ? 1 : 0]);
  return l.names ? ['L', l.network, l.containerID, l.ifname, jail, ips, l.createdAt, [...l.names]] : ['L', l.network, l.containerID, l.ifname, jail, ips, l.createdAt];
}

/**
 * One copy of the strings that thousands of leases repeat (network and interface names,
 * gateways): JSON.parse makes a new string for each occurrence.
 */
const interned = new Map<string, string>();
function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size < 4096) interned.set(s, s);
  return s;
}

export function recordToLease(r: LeaseRecord): Lease {
  const [, network, containerID, ifname, jail, ips, createdAt, names] = r;
  // Every field in the literal, jail too (undefined when unknown): one object shape for all
  // leases, without a separate property store for a field added later.
  return {
    network: intern(network),
    containerID,
    ifname: intern(ifname),
    jail: jail ? (jail === containerID ? containerID : jail) : undefined,
    ips: ips.map(([address, prefix, gateway, isStatic]) => ({ address, prefix, gateway: gateway === null ? undefined : intern(gateway), static: isStatic === 1 })),
    createdAt,
    names,
  };
}

export function portsToRecord(p: PortReservation): PortsRecord {
  const r: PortsRecord = { t: 'ports', n: p.network, c: p.containerID, i: p.ifname, e: p.entries.map((e) => [e.hostIP, e.protocol, e.hostPort, e.hostPortEnd]) };
  if (p.jail) r.j = p.jail;
  return r;
}

export function recordToPorts(r: PortsRecord): PortReservation {
  const p: PortReservation = {
    network: r.n,
    containerID: r.c,
    ifname: r.i,
    entries: r.e.map(([hostIP, protocol, hostPort, hostPortEnd]): PortEntry => ({ hostIP, protocol, hostPort, hostPortEnd })),
  };
  if (r.j) p.jail = r.j;
  return p;
}

export function natToRecord(h: NatHolding): NatRecord {
  const r: NatRecord = { t: 'nat', n: h.network, c: h.containerID, i: h.ifname, a: [...h.addresses], at: h.at };
  if (h.jail) r.j = h.jail;
  if (h.egressInterface) r.e = h.egressInterface;
  return r;
}

export function recordToNat(r: NatRecord): NatHolding {
  const h: NatHolding = { network: r.n, containerID: r.c, ifname: r.i, addresses: [...r.a], at: r.at };
  if (r.j) h.jail = r.j;
  if (r.e) h.egressInterface = r.e;
  return h;
}

export function forwardToRecord(h: ForwardHolding): FwdRecord {
  const r: FwdRecord = { t: 'fwd', n: h.network, c: h.containerID, i: h.ifname, m: h.mappings.map((m) => ({ ...m })), snat: h.snat, proxy: h.userlandProxy, at: h.at };
  if (h.jail) r.j = h.jail;
  if (h.target.v4) r.v4 = h.target.v4;
  if (h.target.v6) r.v6 = h.target.v6;
  if (h.target.bridge) r.br = h.target.bridge;
  if (h.externalInterface) r.x = h.externalInterface;
  return r;
}

export function recordToForward(r: FwdRecord): ForwardHolding {
  const h: ForwardHolding = { network: r.n, containerID: r.c, ifname: r.i, mappings: r.m.map((m) => ({ ...m })), target: {}, snat: r.snat, userlandProxy: r.proxy, at: r.at };
  if (r.j) h.jail = r.j;
  if (r.v4) h.target.v4 = r.v4;
  if (r.v6) h.target.v6 = r.v6;
  if (r.br) h.target.bridge = r.br;
  if (r.x) h.externalInterface = r.x;
  return h;
}

export function ingressToRecord(h: IngressHolding): IngRecord {
  const r: IngRecord = { t: 'ing', n: h.network, c: h.containerID, i: h.ifname, p: h.policy, br: h.bridge, s: h.subnets.map((s) => [s.cidr, s.gateway ?? null]), at: h.at };
  if (h.jail) r.j = h.jail;
  return r;
}

export function recordToIngress(r: IngRecord): IngressHolding {
  const h: IngressHolding = { network: r.n, containerID: r.c, ifname: r.i, policy: r.p, bridge: r.br, subnets: r.s.map(([cidr, gateway]) => (gateway === null ? { cidr } : { cidr, gateway })), at: r.at };
  if (r.j) h.jail = r.j;
  return h;
}

/** A structural check of a decoded record (the journal's checksum already vouches for its bytes). */
export function isStateRecord(v: unknown): v is StateRecord {
  if (Array.isArray(v)) return v[0] === 'L' && (v.length === 7 || (v.length === 8 && Array.isArray(v[7]) && v[7].every((n) => typeof n === 'string'))) && Array.isArray(v[5]);
  if (v === null || typeof v !== 'object') return false;
  const t = (v as { t?: unknown }).t;
  return t === 'net' || t === 'unlease' || t === 'ports' || t === 'unports' || t === 'cursor' || t === 'nat' || t === 'unnat' || t === 'fwd' || t === 'unfwd' || t === 'ing' || t === 'uning';
}
