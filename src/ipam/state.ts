import { NatTable, type ForwardHolding, type IngressHolding, type NatHolding } from '../firewall/holdings';
import type { AttachmentId } from '../firewall/intent';
import { parseAddress, parseAddressOrCidr, type Address } from '../net/address';
import type { AllocateRequest, GcRequest, PortRequestEntry, PortsReserveRequest } from './api-types';
import { IpamError } from './errors';
import { attachmentKey, leaseKey, type Lease } from './lease';
import { NetworkPool, resolvePoolConfigCached } from './network-pool';
import { normalizePortEntry, PortTable, type PortEntry, type PortReservation } from './ports';
import { isAllocatableIn, resolvePoolConfig, type RangeConfig, type ResolvedPoolConfig } from './range';
import { forwardToRecord, ingressToRecord, isLeaseRecord, leaseToRecord, natToRecord, portsToRecord, recordToForward, recordToIngress, recordToLease, recordToNat, recordToPorts, type LeaseRecord, type NetRecord, type StateRecord } from './records';

/**
 * Everything jailnetd knows: networks with their pools and leases, host-port reservations, and
 * the firewall state each attachment holds (NAT membership, port forwards).
 *
 * Operations check a request against the state, then describe the change as records and apply
 * them through apply(), the only method that changes anything; replaying the journal calls
 * apply() too, so live and recovered state are built the same way. A refused request throws
 * an IpamError before any record is made, so it changes nothing. The caller persists the
 * records before it answers (see daemon/). Everything here is synchronous: the daemon's
 * single thread is what keeps two requests from picking the same address.
 */

/**
 * Told of every lease that comes and goes, replay included (jailnetd's DNS names are an index
 * of the leases, daemon/dns/). Called synchronously, after the change.
 */
export interface LeaseObserver {
  leaseAdded(lease: Lease): void;
  leaseRemoved(lease: Lease): void;
}

export interface Change<T> {
  records: StateRecord[];
  value: T;
}

export class IpamState {
  readonly networks = new Map<string, NetworkPool>();
  readonly ports = new PortTable();
  readonly nat = new NatTable();
  readonly forwards = new Map<string, ForwardHolding>();
  /** Attachments' ingress policies (the firewall plugin), by attachment key. */
  readonly ingress = new Map<string, IngressHolding>();
  private readonly configCache = new Map<string, ResolvedPoolConfig>();
  /** Problems met while applying records (replay), reported by the daemon at start-up. */
  readonly warnings: string[] = [];
  observer: LeaseObserver | undefined;

  get leaseCount(): number {
    let n = 0;
    for (const net of this.networks.values()) n += net.leases.size;
    return n;
  }

  apply(rec: StateRecord): void {
    if (isLeaseRecord(rec)) {
      this.applyLease(rec);
      return;
    }
    switch (rec.t) {
      case 'net': {
        const resolved = resolvePoolConfig(rec.ranges);
        const pool = this.networks.get(rec.net);
        if (!pool) {
          const created = new NetworkPool(rec.net, resolved);
          created.configChangedAt = rec.changedAt;
          created.domain = rec.dom;
          this.networks.set(rec.net, created);
        } else {
          if (pool.config.canonical !== resolved.canonical) pool.setConfig(resolved, rec.changedAt ?? rec.at);
          pool.domain = rec.dom;
        }
        break;
      }
      case 'unlease': {
        const network = rec.k.slice(0, rec.k.indexOf('/'));
        const gone = this.networks.get(network)?.deleteLease(rec.k);
        if (gone) this.observer?.leaseRemoved(gone);
        break;
      }
      case 'ports':
        this.ports.put(recordToPorts(rec));
        break;
      case 'unports':
        this.ports.delete(rec.k);
        break;
      case 'nat':
        this.nat.put(recordToNat(rec));
        break;
      case 'unnat':
        this.nat.delete(rec.k);
        break;
      case 'fwd': {
        const f = recordToForward(rec);
        this.forwards.set(attachmentKey(f.network, f.containerID, f.ifname), f);
        break;
      }
      case 'unfwd':
        this.forwards.delete(rec.k);
        break;
      case 'ing': {
        const h = recordToIngress(rec);
        this.ingress.set(attachmentKey(h.network, h.containerID, h.ifname), h);
        break;
      }
      case 'uning':
        this.ingress.delete(rec.k);
        break;
      case 'cursor': {
        const set = this.networks.get(rec.net)?.sets[rec.set];
        const a = parseAddress(rec.a);
        if (set && a && a.family === set.family) set.advanceCursor(a.value);
        break;
      }
    }
  }

  /** `knownNew`: the caller has just seen that the attachment holds no lease. */
  private applyLease(rec: LeaseRecord, knownNew = false): Lease | undefined {
    const pool = this.networks.get(rec[1]);
    if (!pool) {
      this.warnings.push(`lease of ${rec[2]}/${rec[3]} names network ${rec[1]}, which has no configuration; lease dropped`);
      return undefined;
    }
    const lease = recordToLease(rec);
    const key = leaseKey(lease);
    const before = knownNew ? undefined : pool.leases.get(key);
    if (before) this.observer?.leaseRemoved(before);
    for (const other of pool.putLease(lease, key, knownNew)) {
      const otherKey = leaseKey(other);
      if (otherKey !== key) this.warnings.push(`an address of network ${rec[1]} is claimed by both ${otherKey} and ${key}`);
    }
    this.observer?.leaseAdded(lease);
    return lease;
  }

  private applyAll(records: StateRecord[]): StateRecord[] {
    for (const r of records) this.apply(r);
    return records;
  }

  /**
   * Registers a network or records a change of its ranges (or of its DNS domain, when given).
   * Kept apart from allocate() so that a configuration change is kept even when the allocation
   * that brought it is refused.
   */
  ensureNetwork(network: string, ranges: RangeConfig[][], now: number, domain?: string): Change<{ changed: boolean; outOfRange: Lease[] }> {
    const resolved = resolvePoolConfigCached(this.configCache, JSON.stringify(ranges), ranges);
    const pool = this.networks.get(network);
    const sameRanges = pool !== undefined && pool.config.canonical === resolved.canonical;
    if (sameRanges && (domain === undefined || domain === pool.domain)) return { records: [], value: { changed: false, outOfRange: [] } };
    const rec: NetRecord = { t: 'net', net: network, ranges: JSON.parse(resolved.canonical) as Required<RangeConfig>[][], at: now };
    if (sameRanges && pool.configChangedAt !== undefined) rec.changedAt = pool.configChangedAt;
    const dom = domain ?? pool?.domain;
    if (dom !== undefined) rec.dom = dom;
    this.applyAll([rec]);
    const outOfRange = pool && !sameRanges ? (this.networks.get(network) as NetworkPool).outOfRangeLeases() : [];
    return { records: [rec], value: { changed: pool !== undefined && !sameRanges, outOfRange } };
  }

  /** A lease for the attachment: the one it holds, or new addresses. Call ensureNetwork first. */
  allocate(req: AllocateRequest, now: number): Change<{ lease: Lease; created: boolean }> {
    const pool = this.networks.get(req.network);
    if (!pool) throw new IpamError('internal', `network ${req.network} is not registered`);
    const requested = parseRequested(req.ips ?? []);
    const key = attachmentKey(req.network, req.containerID, req.ifname);
    const existing = pool.leases.get(key);
    if (existing) {
      const missing = requested.text.filter((_, n) => !existing.ips.some((ip) => parseAddress(ip.address)?.value === requested.addresses[n]?.value && parseAddress(ip.address)?.family === requested.addresses[n]?.family));
      if (missing.length > 0) {
        throw new IpamError(
          'lease-mismatch',
          `container ${req.containerID} interface ${req.ifname} already holds ${existing.ips.map((ip) => ip.address).join(', ')} on network ${req.network}, not the requested ${missing.join(', ')}`,
          'delete the attachment (CNI DEL) before asking for other addresses',
        );
      }
      return { records: [], value: { lease: existing, created: false } };
    }
    const ips = pool.planAllocation(requested.addresses, requested.text);
    const planned: Lease = { network: req.network, containerID: req.containerID, ifname: req.ifname, ips, createdAt: now };
    if (req.jail) planned.jail = req.jail;
    if (req.dns) planned.names = [...req.dns.names];
    const rec = leaseToRecord(planned);
    const lease = this.applyLease(rec, true) as Lease;
    return { records: [rec], value: { lease, created: true } };
  }

  release(network: string, containerID: string, ifname: string): Change<Lease | undefined> {
    const key = attachmentKey(network, containerID, ifname);
    const lease = this.networks.get(network)?.leases.get(key);
    if (!lease) return { records: [], value: undefined };
    return { records: this.applyAll([{ t: 'unlease', k: key }]), value: lease };
  }

  lease(network: string, containerID: string, ifname: string): Lease | undefined {
    return this.networks.get(network)?.leases.get(attachmentKey(network, containerID, ifname));
  }

  isInRange(lease: Lease): boolean {
    return this.networks.get(lease.network)?.isInRange(lease) ?? false;
  }

  /** CHECK: the attachment's lease, which must fit `ranges` (or the stored ranges). */
  check(network: string, containerID: string, ifname: string, ranges?: RangeConfig[][]): Lease {
    const lease = this.lease(network, containerID, ifname);
    if (!lease) {
      throw new IpamError('no-lease', `container ${containerID} interface ${ifname} holds no address on network ${network}`, 'the attachment was deleted or reclaimed; run ADD again (or DEL and ADD) to get an address');
    }
    const config = ranges ? resolvePoolConfigCached(this.configCache, JSON.stringify(ranges), ranges) : this.networks.get(network)?.config;
    const outside = lease.ips.filter((ip) => {
      const a = parseAddress(ip.address);
      return !config || !a || !isAllocatableIn(config, a.family, a.value);
    });
    if (outside.length > 0) {
      throw new IpamError(
        'lease-out-of-range',
        `container ${containerID} interface ${ifname} holds ${outside.map((ip) => ip.address).join(', ')}, which the current ranges of network ${network} do not contain`,
        'the network\'s ranges changed after the address was given; DEL and ADD the attachment to move it into the new ranges',
      );
    }
    return lease;
  }

  leases(filter: { network?: string; containerID?: string }): Lease[] {
    const out: Lease[] = [];
    for (const [name, pool] of this.networks) {
      if (filter.network !== undefined && name !== filter.network) continue;
      for (const l of pool.leases.values()) if (filter.containerID === undefined || l.containerID === filter.containerID) out.push(l);
    }
    return out;
  }

  /** CNI GC: releases the network's leases and port reservations of attachments not in the list. */
  gc(req: GcRequest): Change<{ leases: Lease[]; ports: PortReservation[] }> {
    const valid = new Set(req.validAttachments.map((a) => attachmentKey(req.network, a.containerID, a.ifname)));
    const leases = [...(this.networks.get(req.network)?.leases.entries() ?? [])].filter(([k]) => !valid.has(k));
    const ports = [...this.ports.reservations.entries()].filter(([k, r]) => r.network === req.network && !valid.has(k));
    const records: StateRecord[] = [...leases.map(([k]): StateRecord => ({ t: 'unlease', k })), ...ports.map(([k]): StateRecord => ({ t: 'unports', k }))];
    return { records: this.applyAll(records), value: { leases: leases.map(([, l]) => l), ports: ports.map(([, r]) => r) } };
  }

  /** Releases everything of the given attachments (reclaim of vanished jails). */
  releaseAttachments(keys: readonly string[]): Change<{ leases: Lease[]; ports: PortReservation[] }> {
    const leases: Lease[] = [];
    const ports: PortReservation[] = [];
    const records: StateRecord[] = [];
    for (const k of keys) {
      const l = this.networks.get(k.slice(0, k.indexOf('/')))?.leases.get(k);
      if (l) {
        leases.push(l);
        records.push({ t: 'unlease', k });
      }
      const p = this.ports.reservations.get(k);
      if (p) {
        ports.push(p);
        records.push({ t: 'unports', k });
      }
    }
    return { records: this.applyAll(records), value: { leases, ports } };
  }

  /**
   * NAT membership for an attachment: its addresses after adding `addresses`, and for each
   * requested address whether it is new to the attachment (an undo takes back only those).
   */
  natAdd(id: AttachmentId & { jail?: string; egressInterface?: string }, addresses: readonly string[], now: number): Change<{ holding: NatHolding; created: { address: string; created: boolean }[] }> {
    const key = attachmentKey(id.network, id.containerID, id.ifname);
    const current = this.nat.holdings.get(key);
    const held = new Set(current?.addresses ?? []);
    const created = addresses.map((address) => ({ address, created: !held.has(address) }));
    const jail = id.jail ?? current?.jail;
    const egressInterface = id.egressInterface ?? current?.egressInterface;
    if (current && created.every((c) => !c.created) && jail === current.jail && egressInterface === current.egressInterface) return { records: [], value: { holding: current, created } };
    const holding: NatHolding = { network: id.network, containerID: id.containerID, ifname: id.ifname, addresses: [...held, ...created.filter((c) => c.created).map((c) => c.address)], at: now };
    if (jail) holding.jail = jail;
    if (egressInterface) holding.egressInterface = egressInterface;
    return { records: this.applyAll([natToRecord(holding)]), value: { holding, created } };
  }

  /**
   * Takes addresses (all when `only` is absent) out of the attachment's NAT membership. Only
   * addresses the attachment holds are taken: a stale DEL for an address now held by another
   * attachment takes nothing. `previous` is the membership before, to put back (apply its record)
   * when removing it from the firewall fails.
   */
  natRemove(key: string, only?: readonly string[]): Change<{ removed: string[]; previous?: NatHolding }> {
    const current = this.nat.holdings.get(key);
    if (!current) return { records: [], value: { removed: [] } };
    const removed = only ? current.addresses.filter((a) => only.includes(a)) : [...current.addresses];
    if (removed.length === 0) return { records: [], value: { removed, previous: current } };
    const kept = current.addresses.filter((a) => !removed.includes(a));
    const rec: StateRecord = kept.length > 0 ? natToRecord({ ...current, addresses: kept }) : { t: 'unnat', k: key };
    return { records: this.applyAll([rec]), value: { removed, previous: current } };
  }

  putForward(h: ForwardHolding): StateRecord[] {
    return this.applyAll([forwardToRecord(h)]);
  }

  putIngress(h: IngressHolding): StateRecord[] {
    return this.applyAll([ingressToRecord(h)]);
  }

  deleteIngress(key: string): Change<IngressHolding | undefined> {
    const current = this.ingress.get(key);
    if (!current) return { records: [], value: undefined };
    return { records: this.applyAll([{ t: 'uning', k: key }]), value: current };
  }

  deleteForward(key: string): Change<ForwardHolding | undefined> {
    const current = this.forwards.get(key);
    if (!current) return { records: [], value: undefined };
    return { records: this.applyAll([{ t: 'unfwd', k: key }]), value: current };
  }

  /** Sets the attachment's reservation to exactly `entries` (none: removes it). */
  setPorts(who: Omit<PortReservation, 'entries'>, entries: PortEntry[]): StateRecord[] {
    const key = attachmentKey(who.network, who.containerID, who.ifname);
    if (entries.length === 0) return this.ports.reservations.has(key) ? this.applyAll([{ t: 'unports', k: key }]) : [];
    return this.applyAll([portsToRecord({ ...who, entries })]);
  }

  reservePorts(req: PortsReserveRequest): Change<PortReservation> {
    const entries = req.ports.map((p, i) => normalizePortEntry(p, `ports[${i}]`));
    const who: Omit<PortReservation, 'entries'> = { network: req.network, containerID: req.containerID, ifname: req.ifname };
    if (req.jail) who.jail = req.jail;
    const next = this.ports.planReserve(who, entries);
    const key = attachmentKey(req.network, req.containerID, req.ifname);
    const current = this.ports.reservations.get(key);
    if (current && current.entries.length === next.entries.length && current.jail === next.jail) return { records: [], value: current };
    return { records: this.applyAll([portsToRecord(next)]), value: next };
  }

  releasePorts(ref: { network: string; containerID: string; ifname: string }, only?: PortRequestEntry[]): Change<PortEntry[]> {
    const key = attachmentKey(ref.network, ref.containerID, ref.ifname);
    const current = this.ports.reservations.get(key);
    if (!current) return { records: [], value: [] };
    if (!only) return { records: this.applyAll([{ t: 'unports', k: key }]), value: current.entries };
    const drop = only.map((p, i) => normalizePortEntry(p, `ports[${i}]`));
    const same = (a: PortEntry, b: PortEntry) => a.protocol === b.protocol && a.hostIP === b.hostIP && a.hostPort === b.hostPort && a.hostPortEnd === b.hostPortEnd;
    const released = current.entries.filter((e) => drop.some((d) => same(d, e)));
    if (released.length === 0) return { records: [], value: [] };
    const kept = current.entries.filter((e) => !released.includes(e));
    if (kept.length === 0) return { records: this.applyAll([{ t: 'unports', k: key }]), value: released };
    return { records: this.applyAll([portsToRecord({ ...current, entries: kept })]), value: released };
  }

  /** Records that rebuild this state from nothing: the contents of a snapshot. */
  snapshotRecords(): StateRecord[] {
    const out: StateRecord[] = [];
    for (const pool of this.networks.values()) {
      const rec: StateRecord = { t: 'net', net: pool.name, ranges: pool.rangesConfig, at: 0 };
      if (pool.configChangedAt !== undefined) rec.changedAt = pool.configChangedAt;
      if (pool.domain !== undefined) rec.dom = pool.domain;
      out.push(rec);
    }
    for (const pool of this.networks.values()) for (const l of pool.leases.values()) out.push(leaseToRecord(l));
    for (const pool of this.networks.values()) {
      pool.sets.forEach((s, i) => {
        const a = s.cursorAddress;
        if (a !== undefined) out.push({ t: 'cursor', net: pool.name, set: i, a });
      });
    }
    for (const r of this.ports.reservations.values()) out.push(portsToRecord(r));
    for (const h of this.nat.holdings.values()) out.push(natToRecord(h));
    for (const f of this.forwards.values()) out.push(forwardToRecord(f));
    for (const h of this.ingress.values()) out.push(ingressToRecord(h));
    return out;
  }
}

function parseRequested(ips: readonly string[]): { addresses: Address[]; text: string[] } {
  const addresses: Address[] = [];
  const text: string[] = [];
  for (const given of ips) {
    const a = parseAddressOrCidr(given.trim());
    if (!a) throw new IpamError('address-not-allowed', `requested address ${JSON.stringify(given)} is not an IP address`, 'static addresses are written like "10.88.0.10" or "10.88.0.10/16"');
    if (addresses.some((b) => b.family === a.family && b.value === a.value)) continue;
    addresses.push(a);
    text.push(given);
  }
  return { addresses, text };
}
