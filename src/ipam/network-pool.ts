import { formatAddress, parseAddress, parseIpv4, type Address, type Family } from '../net/address';
import { describeHolder, IpamError } from './errors';
import { leaseKey, type Lease, type LeaseIp } from './lease';
import { canonicalRangeSets, describeRange, resolvePoolConfig, type RangeConfig, type ResolvedPoolConfig } from './range';
import { RangeSetPool, reservedAddresses } from './range-set-pool';

/**
 * One network's pool: its range sets, the leases of its attachments and who holds which
 * address. Reading methods (planAllocation, lease lookups) never change anything; the state
 * changes only through putLease/deleteLease/setConfig, which replaying the journal calls too.
 *
 * A changed configuration: the new ranges replace the old ones for new allocations; leases
 * are never taken away. A lease whose address the new ranges cannot hand out (outside every
 * range, or now a network/gateway/broadcast address) stays held and is listed by
 * outOfRangeLeases() until its attachment is deleted; its address is never handed to anybody
 * else while it is held.
 */

export class NetworkPool {
  readonly name: string;
  config!: ResolvedPoolConfig;
  /** When the configuration last changed (ms since the epoch); undefined when never. */
  configChangedAt: number | undefined;
  /** The domain of the network's DNS names (src/dns/names.ts), once an attachment used the DNS server. */
  domain: string | undefined;
  sets: RangeSetPool[] = [];
  readonly leases = new Map<string, Lease>();
  /**
   * Address -> the lease holding it. IPv4 addresses are keyed by their number: with tens of
   * thousands of leases, lookups by number are several times faster than by text.
   */
  private readonly holders = new Map<number | string, Lease>();

  constructor(name: string, config: ResolvedPoolConfig) {
    this.name = name;
    this.setConfig(config);
    this.configChangedAt = undefined;
  }

  /** The configuration as stored: every range with its defaults written out. */
  get rangesConfig(): Required<RangeConfig>[][] {
    return canonicalRangeSets(this.config);
  }

  setConfig(config: ResolvedPoolConfig, at?: number): void {
    const families = new Set(config.rangeSets.map((s) => s.family));
    const reserved = new Map([...families].map((f) => [f, reservedAddresses(config.rangeSets, f)] as const));
    const sets = config.rangeSets.map((set, i) => {
      try {
        return new RangeSetPool(set, reserved.get(set.family) as ReturnType<typeof reservedAddresses>);
      } catch {
        throw new IpamError('invalid-config', `ranges[${i}]: every address of range set ${i} is a network, gateway or broadcast address`, 'widen the range set', { field: `ranges[${i}]` });
      }
    });
    const cursors = this.sets.map((s) => s.cursorAddress);
    this.config = config;
    this.configChangedAt = at;
    this.sets = sets;
    for (const lease of this.leases.values()) {
      for (const ip of lease.ips) {
        const v4 = parseIpv4(ip.address);
        if (v4 >= 0) this.setForV4(v4)?.takeV4(v4);
        else this.takeAddress(ip.address);
      }
    }
    cursors.forEach((c, i) => {
      const set = this.sets[i];
      const a = c === undefined ? undefined : parseAddress(c);
      if (set && a && a.family === set.family) set.advanceCursor(a.value);
    });
  }

  holderOf(address: string): Lease | undefined {
    const a = parseAddress(address);
    return a ? this.holders.get(holderKey(a)) : undefined;
  }

  /**
   * The addresses a new lease would get: the requested static addresses in their range sets
   * and the next free address (round-robin) in every other range set. Throws an IpamError
   * naming the address, range or holder when that cannot be done.
   */
  planAllocation(requested: readonly Address[], requestedText: readonly string[]): LeaseIp[] {
    const picks: (LeaseIp | undefined)[] = new Array(this.sets.length).fill(undefined);
    requested.forEach((a, n) => {
      const text = formatAddress(a.family, a.value);
      const given = requestedText[n] ?? text;
      const i = this.sets.findIndex((s) => s.family === a.family && s.locate(a.value) !== undefined);
      if (i < 0) {
        throw new IpamError('address-not-allowed', `requested address ${given} is not in any range of network ${this.name} (${this.describeRanges(a.family)})`, 'ask for an address inside one of the network\'s ranges, or drop the request to get one assigned');
      }
      const set = this.sets[i] as RangeSetPool;
      if (picks[i]) {
        throw new IpamError('address-not-allowed', `requested addresses ${picks[i]?.address} and ${text} are both in range set ${i} of network ${this.name}`, 'an attachment gets one address per range set; ask for at most one address in each');
      }
      const role = set.reservedRole(a.value);
      if (role) throw new IpamError('address-not-allowed', `requested address ${given} is the ${role} address of network ${this.name} and is never handed out`, 'ask for another address');
      const holder = this.holders.get(holderKey(a));
      if (holder) {
        throw new IpamError('address-held', `requested address ${given} on network ${this.name} is already held by ${describeHolder(holder)}`, 'ask for a free address, or delete that attachment first', { holder: holderOf(holder) });
      }
      picks[i] = { address: text, prefix: this.prefixOf(i, a.value), gateway: this.gatewayOf(i, a.value), static: true };
    });
    this.sets.forEach((set, i) => {
      if (picks[i]) return;
      const v = set.nextFree();
      if (v === undefined) {
        throw new IpamError(
          'pool-exhausted',
          `no free address in network ${this.name}: range set ${i} (${this.describeRanges(set.family, i)}) has all ${set.capacity} addresses held`,
          'release attachments that are gone (CNI GC, or wait for the jail check), or widen the range set',
        );
      }
      picks[i] = { address: formatAddress(set.family, v), prefix: this.prefixOf(i, v), gateway: this.gatewayOf(i, v), static: false };
    });
    return picks as LeaseIp[];
  }

  /**
   * Adds or replaces the lease of an attachment and marks its addresses held. Returns the
   * leases that held one of its addresses before (only a damaged journal can have those).
   */
  putLease(lease: Lease, key = leaseKey(lease), knownNew = false): Lease[] {
    if (!knownNew && this.leases.has(key)) this.deleteLease(key);
    this.leases.set(key, lease);
    const displaced: Lease[] = [];
    for (const ip of lease.ips) {
      const v4 = parseIpv4(ip.address);
      if (v4 >= 0) {
        // IPv4 with numbers only (see RangeSetPool): this runs for every lease at start-up.
        // An address that was free in its range set has no holder to look up: an address is
        // held only while taken (deleteLease frees it when its holder goes, setConfig takes
        // every held one again).
        const set = this.setForV4(v4);
        if (set?.takeV4(v4) !== true) {
          const before = this.holders.get(v4);
          if (before) displaced.push(before);
        }
        this.holders.set(v4, lease);
        // Every reservation moves the cursor, static ones too, as host-local's last_reserved_ip.
        set?.advanceCursorV4(v4);
        continue;
      }
      const a = parseAddress(ip.address);
      if (!a) continue;
      const hk = holderKey(a);
      const before = this.holders.get(hk);
      if (before) displaced.push(before);
      this.holders.set(hk, lease);
      const set = this.setFor(a.family, a.value);
      set?.take(a.value);
      set?.advanceCursor(a.value);
    }
    return displaced;
  }

  deleteLease(key: string): Lease | undefined {
    const lease = this.leases.get(key);
    if (!lease) return undefined;
    this.leases.delete(key);
    for (const ip of lease.ips) {
      const v4 = parseIpv4(ip.address);
      if (v4 >= 0) {
        if (this.holders.get(v4) !== lease) continue;
        this.holders.delete(v4);
        this.setForV4(v4)?.freeV4(v4);
        continue;
      }
      const a = parseAddress(ip.address);
      if (!a || this.holders.get(holderKey(a)) !== lease) continue;
      this.holders.delete(holderKey(a));
      this.setFor(a.family, a.value)?.free(a.value);
    }
    return lease;
  }

  /** True when every address of the lease can be handed out by the current ranges. */
  isInRange(lease: Lease): boolean {
    return lease.ips.every((ip) => {
      const v4 = parseIpv4(ip.address);
      if (v4 >= 0) return this.setForV4(v4)?.isAllocatableV4(v4) === true;
      const a = parseAddress(ip.address);
      return a !== undefined && this.setFor(a.family, a.value)?.isAllocatable(a.value) === true;
    });
  }

  outOfRangeLeases(): Lease[] {
    return [...this.leases.values()].filter((l) => !this.isInRange(l));
  }

  get capacity(): bigint {
    return this.sets.reduce((n, s) => n + s.capacity, 0n);
  }

  /** Free addresses of the fullest range set: how many more attachments fit. */
  get attachmentsLeft(): bigint {
    return this.sets.reduce((min, s) => (s.freeCount < min ? s.freeCount : min), this.sets[0]?.freeCount ?? 0n);
  }

  describeRanges(family: Family, only?: number): string {
    const sets = only === undefined ? this.config.rangeSets.filter((s) => s.family === family) : [this.config.rangeSets[only]];
    return sets.flatMap((s) => (s ? s.ranges.map(describeRange) : [])).join(', ') || `no IPv${family} range`;
  }

  private takeAddress(text: string): Address | undefined {
    const a = parseAddress(text);
    if (a) this.setFor(a.family, a.value)?.take(a.value);
    return a;
  }

  private setForV4(v: number): RangeSetPool | undefined {
    for (const s of this.sets) if (s.family === 4 && s.containsV4(v)) return s;
    return undefined;
  }

  private setFor(family: Family, value: bigint): RangeSetPool | undefined {
    for (const s of this.sets) if (s.family === family && s.locate(value) !== undefined) return s;
    return undefined;
  }

  private rangeOf(setIndex: number, value: bigint) {
    const set = this.config.rangeSets[setIndex];
    return set?.ranges.find((r) => value >= r.start && value <= r.end) ?? set?.ranges[0];
  }

  private prefixOf(setIndex: number, value: bigint): number {
    return this.rangeOf(setIndex, value)?.prefix ?? 0;
  }

  private gatewayOf(setIndex: number, value: bigint): string | undefined {
    return this.rangeOf(setIndex, value)?.gatewayText;
  }
}

function holderKey(a: Address): number | string {
  return a.family === 4 ? Number(a.value) : a.value.toString(16);
}

export function holderOf(lease: Lease): { network: string; containerID: string; ifname: string; jail?: string } {
  const h: { network: string; containerID: string; ifname: string; jail?: string } = { network: lease.network, containerID: lease.containerID, ifname: lease.ifname };
  if (lease.jail) h.jail = lease.jail;
  return h;
}

/** Resolves a configuration given as text; a cache keeps repeated requests from re-parsing it. */
export function resolvePoolConfigCached(cache: Map<string, ResolvedPoolConfig>, rangesJson: string, ranges: readonly (readonly RangeConfig[])[]): ResolvedPoolConfig {
  let resolved = cache.get(rangesJson);
  if (!resolved) {
    resolved = resolvePoolConfig(ranges as RangeConfig[][]);
    if (cache.size > 256) cache.clear();
    cache.set(rangesJson, resolved);
  }
  return resolved;
}
