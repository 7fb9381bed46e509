import { canonicalAddress } from '../net/address';
import { describeHolder, IpamError, type Holder } from './errors';
import { attachmentKey } from './lease';

/**
 * Host-port reservations for the portmap plugin: which attachment publishes which host port.
 * Two reservations conflict when they share the protocol, their port ranges overlap and their
 * host addresses can receive the same packet: "" (any address of both families) overlaps
 * everything, "0.0.0.0" every IPv4 address, "::" every IPv6 address, and two specific
 * addresses only themselves.
 */

export const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

export interface PortEntry {
  /** Canonical address, or "" for every address. */
  hostIP: string;
  protocol: PortProtocol;
  hostPort: number;
  /** Last port of a range; equal to hostPort for a single port. */
  hostPortEnd: number;
}

export interface PortReservation {
  network: string;
  containerID: string;
  ifname: string;
  jail?: string;
  entries: PortEntry[];
}

export interface PortRequest {
  hostIP?: string;
  protocol: PortProtocol;
  hostPort: number;
  hostPortEnd?: number;
}

/** Checks and normalises one requested entry (field: its JSON path, for the error). */
export function normalizePortEntry(req: PortRequest, field: string): PortEntry {
  let hostIP = '';
  if (req.hostIP !== undefined && req.hostIP !== '') {
    const a = canonicalAddress(req.hostIP);
    if (a === undefined) throw new IpamError('invalid-request', `${field}.hostIP: ${JSON.stringify(req.hostIP)} is not an IP address`, 'give a plain address, or leave hostIP out for every address', { field: `${field}.hostIP` });
    hostIP = a;
  }
  const end = req.hostPortEnd ?? req.hostPort;
  if (end < req.hostPort) {
    throw new IpamError('invalid-request', `${field}.hostPortEnd: ${end} is below hostPort ${req.hostPort}`, 'a range runs from hostPort up to hostPortEnd', { field: `${field}.hostPortEnd` });
  }
  return { hostIP, protocol: req.protocol, hostPort: req.hostPort, hostPortEnd: end };
}

function familyOf(hostIP: string): 0 | 4 | 6 {
  if (hostIP === '') return 0;
  return hostIP.includes(':') ? 6 : 4;
}

function isWildcard(hostIP: string): boolean {
  return hostIP === '' || hostIP === '0.0.0.0' || hostIP === '::';
}

export function hostIpsOverlap(a: string, b: string): boolean {
  const fa = familyOf(a);
  const fb = familyOf(b);
  if (fa === 0 || fb === 0) return true;
  if (fa !== fb) return false;
  return a === b || isWildcard(a) || isWildcard(b);
}

export function entriesConflict(a: PortEntry, b: PortEntry): boolean {
  return a.protocol === b.protocol && a.hostPort <= b.hostPortEnd && b.hostPort <= a.hostPortEnd && hostIpsOverlap(a.hostIP, b.hostIP);
}

export function describePortEntry(e: PortEntry): string {
  const ports = e.hostPortEnd === e.hostPort ? `${e.hostPort}` : `${e.hostPort}-${e.hostPortEnd}`;
  const ip = e.hostIP === '' ? '*' : e.hostIP.includes(':') ? `[${e.hostIP}]` : e.hostIP;
  return `${ip}:${ports}/${e.protocol}`;
}

function sameEntry(a: PortEntry, b: PortEntry): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && a.hostPortEnd === b.hostPortEnd && a.hostIP === b.hostIP;
}

export class PortTable {
  readonly reservations = new Map<string, PortReservation>();

  get entryCount(): number {
    let n = 0;
    for (const r of this.reservations.values()) n += r.entries.length;
    return n;
  }

  /** The first reservation of another attachment that conflicts with `entry`. */
  conflictFor(entry: PortEntry, exceptKey: string): { holder: PortReservation; entry: PortEntry } | undefined {
    for (const [key, r] of this.reservations) {
      if (key === exceptKey) continue;
      for (const e of r.entries) if (entriesConflict(entry, e)) return { holder: r, entry: e };
    }
    return undefined;
  }

  /**
   * The reservation `who` would hold after adding `entries` (all of them or none): throws a
   * port-conflict error naming the holder when another attachment has one of them.
   */
  planReserve(who: Omit<PortReservation, 'entries'>, entries: readonly PortEntry[]): PortReservation {
    const key = attachmentKey(who.network, who.containerID, who.ifname);
    entries.forEach((e, i) => {
      entries.slice(0, i).forEach((earlier) => {
        if (entriesConflict(e, earlier) && !sameEntry(e, earlier)) {
          throw new IpamError('invalid-request', `ports[${i}]: ${describePortEntry(e)} overlaps ports entry ${describePortEntry(earlier)} of the same request`, 'list each host port once', { field: `ports[${i}]` });
        }
      });
      const c = this.conflictFor(e, key);
      if (c) {
        const holder: Holder = { network: c.holder.network, containerID: c.holder.containerID, ifname: c.holder.ifname };
        if (c.holder.jail) holder.jail = c.holder.jail;
        throw new IpamError(
          'port-conflict',
          `host port ${describePortEntry(e)} is already reserved (${describePortEntry(c.entry)}) by ${describeHolder(holder)}`,
          'publish another host port, or remove that attachment first',
          { holder },
        );
      }
    });
    const current = this.reservations.get(key);
    const merged = [...(current?.entries ?? [])];
    for (const e of entries) if (!merged.some((m) => sameEntry(m, e))) merged.push(e);
    const out: PortReservation = { network: who.network, containerID: who.containerID, ifname: who.ifname, entries: merged };
    const jail = who.jail ?? current?.jail;
    if (jail) out.jail = jail;
    return out;
  }

  put(r: PortReservation): void {
    this.reservations.set(attachmentKey(r.network, r.containerID, r.ifname), r);
  }

  delete(key: string): PortReservation | undefined {
    const r = this.reservations.get(key);
    this.reservations.delete(key);
    return r;
  }
}
