import { FAMILY_BITS, formatAddress, maskOf, parseAddress, parseCidr, type Family } from '../net/address';
import { gatewayRefusal, subnetRefusal } from '../net/unusable';
import { IpamError } from './errors';

/**
 * host-local's range configuration (plugins/ipam/host-local/backend/allocator/range.go), resolved
 * to numbers once: defaults filled in, every rule checked with host-local's messages, plus the
 * addresses that are never handed out (network, gateway and, for IPv4, broadcast).
 */

/** One `{subnet, rangeStart, rangeEnd, gateway}` as written in the configuration. */
export interface RangeConfig {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/** A range set: ranges of one family; an attachment gets one address from each range set. */
export type RangeSetConfig = RangeConfig[];

export interface ResolvedRange {
  family: Family;
  /** Canonical subnet, e.g. "10.88.0.0/16". */
  subnet: string;
  prefix: number;
  network: bigint;
  /** Last address of the subnet (the IPv4 broadcast address). */
  last: bigint;
  /** Allocatable bounds, inclusive. */
  start: bigint;
  end: bigint;
  gateway: bigint;
  gatewayText: string;
  /** Addresses inside [start, end] that are never handed out. */
  reserved: bigint[];
}

export interface ResolvedRangeSet {
  family: Family;
  ranges: ResolvedRange[];
}

export interface ResolvedPoolConfig {
  rangeSets: ResolvedRangeSet[];
  /** The configuration with defaults filled in, in canonical text: equal strings mean equal pools. */
  canonical: string;
}

function invalid(field: string, message: string, details: string): never {
  throw new IpamError('invalid-config', message, details, { field });
}

function parseIn(text: string | undefined, field: string, family: Family): bigint | undefined {
  if (text === undefined || text === '') return undefined;
  const a = parseAddress(text);
  if (!a) invalid(field, `${field}: ${JSON.stringify(text)} is not an IP address`, 'write a plain address such as "10.88.0.10" or "fd00::10"');
  if (a.family !== family) invalid(field, `${field}: ${text} is an IPv${a.family} address in an IPv${family} subnet`, 'use addresses of the subnet\'s family');
  return a.value;
}

export function resolveRange(cfg: RangeConfig, field: string): ResolvedRange {
  const cidr = parseCidr(cfg.subnet);
  if (!cidr) invalid(`${field}.subnet`, `${field}.subnet: ${JSON.stringify(cfg.subnet)} is not a subnet in CIDR notation`, 'write it as address/prefix, e.g. "10.88.0.0/16" or "fd00:88::/64"');
  const { family, value } = cidr.address;
  const bits = FAMILY_BITS[family];
  if (cidr.prefix > bits - 2) {
    invalid(`${field}.subnet`, `${field}.subnet: network ${cfg.subnet} is too small to allocate from`, `use a prefix of at most /${bits - 2}`);
  }
  const mask = maskOf(family, cidr.prefix);
  const network = value & mask;
  if (network !== value) {
    invalid(
      `${field}.subnet`,
      `${field}.subnet: network ${cfg.subnet} has host bits set; for a prefix of length ${cidr.prefix} the network address is ${formatAddress(family, network)}`,
      `write "${formatAddress(family, network)}/${cidr.prefix}"`,
    );
  }
  const last = network | (~mask & ((1n << BigInt(bits)) - 1n));
  const subnet = `${formatAddress(family, network)}/${cidr.prefix}`;
  const contains = (v: bigint) => v >= network && v <= last;

  const gateway = parseIn(cfg.gateway, `${field}.gateway`, family) ?? network + 1n;
  const start = parseIn(cfg.rangeStart, `${field}.rangeStart`, family) ?? network + 1n;
  if (!contains(start)) invalid(`${field}.rangeStart`, `${field}.rangeStart: ${cfg.rangeStart} is not in network ${subnet}`, `choose an address inside ${subnet}`);
  const end = parseIn(cfg.rangeEnd, `${field}.rangeEnd`, family) ?? (family === 4 ? last - 1n : last);
  if (!contains(end)) invalid(`${field}.rangeEnd`, `${field}.rangeEnd: ${cfg.rangeEnd} is not in network ${subnet}`, `choose an address inside ${subnet}`);
  if (end < start) {
    invalid(`${field}.rangeEnd`, `${field}.rangeEnd: ${formatAddress(family, end)} comes before rangeStart ${formatAddress(family, start)}`, 'rangeStart must not be after rangeEnd');
  }
  const reserved = [...new Set([network, gateway, ...(family === 4 ? [last] : [])])].filter((v) => v >= start && v <= end).sort((a, b) => (a < b ? -1 : 1));
  if (BigInt(reserved.length) >= end - start + 1n) {
    invalid(`${field}`, `${field}: range ${formatAddress(family, start)}-${formatAddress(family, end)} holds no address to hand out (only network, gateway or broadcast)`, 'widen the range');
  }
  return { family, subnet, prefix: cidr.prefix, network, last, start, end, gateway, gatewayText: formatAddress(family, gateway), reserved };
}

/** Resolves and checks every range set: one family per set, no overlap anywhere. */
export function resolvePoolConfig(rangeSets: readonly RangeSetConfig[], field = 'ranges'): ResolvedPoolConfig {
  if (rangeSets.length === 0) invalid(field, `${field}: at least one range set is required`, 'e.g. "ranges": [[{"subnet": "10.88.0.0/16"}]]');
  const resolved: ResolvedRangeSet[] = rangeSets.map((set, i) => {
    if (set.length === 0) invalid(`${field}[${i}]`, `${field}[${i}]: a range set needs at least one range`, 'e.g. [{"subnet": "10.88.0.0/16"}]');
    const ranges = set.map((r, j) => resolveRange(r, `${field}[${i}][${j}]`));
    const family = (ranges[0] as ResolvedRange).family;
    ranges.forEach((r, j) => {
      if (r.family !== family) invalid(`${field}[${i}][${j}].subnet`, `${field}[${i}][${j}].subnet: ${r.subnet} is IPv${r.family} but range set ${i} is IPv${family}`, 'put IPv4 and IPv6 ranges in separate range sets (dual stack is two range sets)');
    });
    return { family, ranges };
  });
  const all = resolved.flatMap((set, i) => set.ranges.map((r, j) => ({ r, where: `${field}[${i}][${j}]` })));
  for (let a = 0; a < all.length; a++) {
    for (let b = a + 1; b < all.length; b++) {
      const x = all[a] as (typeof all)[number];
      const y = all[b] as (typeof all)[number];
      if (x.r.family === y.r.family && x.r.start <= y.r.end && y.r.start <= x.r.end) {
        invalid(y.where, `${y.where}: range ${describeRange(y.r)} overlaps ${x.where} (${describeRange(x.r)})`, 'ranges of a network must not overlap');
      }
    }
  }
  return { rangeSets: resolved, canonical: canonicalText(resolved) };
}

/**
 * The rules ranges must meet to be taken on for a new attachment (jailnetd's allocate, the
 * IPAM plugin's ADD, `jailnet network create` and validate), on top of resolvePoolConfig's:
 * no subnet in a special-purpose block or spanning everything (src/net/unusable.ts), and each
 * gateway inside its subnet and not its network or broadcast address. Not applied to ranges read
 * back from the journal or to CHECK and DEL, so that a network accepted by an earlier release
 * can still be inspected and torn down.
 */
export function checkUsableRanges(rangeSets: readonly RangeSetConfig[], field = 'ranges'): ResolvedPoolConfig {
  const resolved = resolvePoolConfig(rangeSets as RangeSetConfig[], field);
  resolved.rangeSets.forEach((set, i) =>
    set.ranges.forEach((r, j) => {
      const where = `${field}[${i}][${j}]`;
      const subnet = subnetRefusal(r.subnet);
      if (subnet) invalid(`${where}.subnet`, `${where}.subnet: ${subnet}`, 'use a private subnet, such as 10.88.0.0/16 or fd00:88::/64');
      const gateway = gatewayRefusal(r.gatewayText, r.subnet);
      if (gateway) invalid(`${where}.gateway`, `${where}.gateway: ${gateway}`, `choose an address inside ${r.subnet}, or leave "gateway" out (the first address)`);
    }),
  );
  return resolved;
}

export function describeRange(r: ResolvedRange): string {
  return `${formatAddress(r.family, r.start)}-${formatAddress(r.family, r.end)} in ${r.subnet}`;
}

export function rangeSize(r: ResolvedRange): bigint {
  return r.end - r.start + 1n;
}

function canonicalText(sets: ResolvedRangeSet[]): string {
  return JSON.stringify(sets.map((s) => s.ranges.map((r) => canonicalRange(r))));
}

/** The range as a configuration with every default written out. */
export function canonicalRange(r: ResolvedRange): Required<RangeConfig> {
  return { subnet: r.subnet, rangeStart: formatAddress(r.family, r.start), rangeEnd: formatAddress(r.family, r.end), gateway: r.gatewayText };
}

export function canonicalRangeSets(resolved: ResolvedPoolConfig): Required<RangeConfig>[][] {
  return resolved.rangeSets.map((s) => s.ranges.map(canonicalRange));
}

/** Whether `value` is an address the configuration may hand out (the check CHECK uses, without building a pool). */
export function isAllocatableIn(config: ResolvedPoolConfig, family: Family, value: bigint): boolean {
  let inside = false;
  for (const set of config.rangeSets) {
    if (set.family !== family) continue;
    for (const r of set.ranges) {
      if (value === r.network || value === r.gateway || (family === 4 && value === r.last)) return false;
      if (value >= r.start && value <= r.end) inside = true;
    }
  }
  return inside;
}
