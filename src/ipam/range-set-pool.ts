import { formatAddress, type Family } from '../net/address';
import { BitmapSlots, createFreeSlots, type FreeSlots } from './free-slots';
import { rangeSize, type ResolvedRange, type ResolvedRangeSet } from './range';

/**
 * The free addresses of one range set and its round-robin cursor. Finding an address does not
 * take it: a network first finds one address per range set, and only when all were found does
 * it take them (see network-pool.ts), so a refused request changes nothing.
 */

interface RangeSlots {
  range: ResolvedRange;
  slots: FreeSlots;
  /** IPv4 only: the bounds as numbers, and the slots as a bitmap when they are one. */
  lo: number;
  hi: number;
  bitmap: BitmapSlots | undefined;
}

export type ReservedRole = 'network' | 'gateway' | 'broadcast';

/**
 * Network, gateway and broadcast addresses of every range of one family in a network: none of
 * them is handed out from any range of that family (two ranges may share a subnet, and the
 * gateway of one may fall inside the other).
 */
export function reservedAddresses(sets: readonly ResolvedRangeSet[], family: Family): Map<bigint, ReservedRole> {
  const out = new Map<bigint, ReservedRole>();
  for (const set of sets) {
    if (set.family !== family) continue;
    for (const r of set.ranges) {
      out.set(r.network, 'network');
      if (family === 4) out.set(r.last, 'broadcast');
    }
  }
  for (const set of sets) {
    if (set.family === family) for (const r of set.ranges) out.set(r.gateway, 'gateway');
  }
  return out;
}

export interface Position {
  rangeIndex: number;
  offset: bigint;
}

export class RangeSetPool {
  readonly family: Family;
  readonly ranges: readonly RangeSlots[];
  /** Addresses that can be handed out: range sizes minus network, gateway and broadcast. */
  readonly capacity: bigint;
  private readonly reservedCount: number;
  /** Where the last dynamic allocation was; the next one starts right after it. */
  private cursor: Position | undefined;

  private readonly reserved: ReadonlyMap<bigint, ReservedRole>;
  /** IPv4: the same as numbers. */
  private readonly reservedV4: ReadonlyMap<number, ReservedRole>;

  /** `reserved`: see reservedAddresses(); those inside the ranges are marked taken for good. */
  constructor(set: ResolvedRangeSet, reserved: ReadonlyMap<bigint, ReservedRole>) {
    this.family = set.family;
    this.reserved = reserved;
    this.reservedV4 = new Map(set.family === 4 ? [...reserved].map(([v, role]) => [Number(v), role] as const) : []);
    let capacity = 0n;
    let reservedCount = 0;
    this.ranges = set.ranges.map((range) => {
      const slots = createFreeSlots(rangeSize(range));
      for (const v of reserved.keys()) {
        if (v >= range.start && v <= range.end && slots.take(v - range.start)) reservedCount++;
      }
      capacity += rangeSize(range);
      const v4 = range.family === 4;
      return { range, slots, lo: v4 ? Number(range.start) : 0, hi: v4 ? Number(range.end) : -1, bitmap: v4 && slots instanceof BitmapSlots ? slots : undefined };
    });
    capacity -= BigInt(reservedCount);
    if (capacity <= 0n) throw new Error('range set has no address to hand out');
    this.capacity = capacity;
    this.reservedCount = reservedCount;
  }

  /** Addresses currently held by leases. */
  get held(): bigint {
    let taken = 0;
    for (const r of this.ranges) taken += r.slots.taken;
    return BigInt(taken - this.reservedCount);
  }

  get freeCount(): bigint {
    return this.capacity - this.held;
  }

  locate(value: bigint): Position | undefined {
    for (let i = 0; i < this.ranges.length; i++) {
      const { range } = this.ranges[i] as RangeSlots;
      if (value >= range.start && value <= range.end) return { rangeIndex: i, offset: value - range.start };
    }
    return undefined;
  }

  /** Whether `value` is a network, gateway or broadcast address of this family's ranges. */
  reservedRole(value: bigint): ReservedRole | undefined {
    return this.reserved.get(value);
  }

  /** True when `value` may be handed out by this range set (in a range, not reserved). */
  isAllocatable(value: bigint): boolean {
    return this.locate(value) !== undefined && this.reservedRole(value) === undefined;
  }

  isTaken(value: bigint): boolean {
    const p = this.locate(value);
    return p !== undefined && (this.ranges[p.rangeIndex] as RangeSlots).slots.isTaken(p.offset);
  }

  /** Marks an allocatable address held. Addresses outside the ranges are ignored (a lease from an older configuration). */
  take(value: bigint): void {
    if (!this.isAllocatable(value)) return;
    const p = this.locate(value) as Position;
    (this.ranges[p.rangeIndex] as RangeSlots).slots.take(p.offset);
  }

  free(value: bigint): void {
    if (!this.isAllocatable(value)) return;
    const p = this.locate(value) as Position;
    (this.ranges[p.rangeIndex] as RangeSlots).slots.free(p.offset);
  }

  /** The next free address after the cursor, wrapping around; undefined when the set is full. */
  nextFree(): bigint | undefined {
    const n = this.ranges.length;
    const startRange = this.cursor?.rangeIndex ?? 0;
    const startOffset = this.cursor ? this.cursor.offset + 1n : 0n;
    for (let step = 0; step <= n; step++) {
      const i = (startRange + step) % n;
      const { range, slots } = this.ranges[i] as RangeSlots;
      // First pass: from the cursor to the end of its range; last pass: the cursor's range from its start.
      const from = step === 0 ? startOffset : 0n;
      const found = slots.nextFree(from);
      if (found >= 0n && (step < n || found < startOffset)) return range.start + found;
    }
    return undefined;
  }

  // IPv4 with numbers: the path every lease of an IPv4 network takes when the state is read.

  private rangeIndexV4(v: number): number {
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i] as RangeSlots;
      if (v >= r.lo && v <= r.hi) return i;
    }
    return -1;
  }

  /** For an IPv4 set: whether the address is in one of its ranges. */
  containsV4(v: number): boolean {
    return this.rangeIndexV4(v) >= 0;
  }

  isAllocatableV4(v: number): boolean {
    return this.rangeIndexV4(v) >= 0 && !this.reservedV4.has(v);
  }

  /** Marks an IPv4 address taken; true when it was a free address of this set (so nobody held it). */
  takeV4(v: number): boolean {
    const i = this.rangeIndexV4(v);
    if (i < 0 || this.reservedV4.has(v)) return false;
    const r = this.ranges[i] as RangeSlots;
    return r.bitmap ? r.bitmap.takeAt(v - r.lo) : r.slots.take(BigInt(v - r.lo));
  }

  freeV4(v: number): void {
    const i = this.rangeIndexV4(v);
    if (i < 0 || this.reservedV4.has(v)) return;
    const r = this.ranges[i] as RangeSlots;
    if (r.bitmap) r.bitmap.freeAt(v - r.lo);
    else r.slots.free(BigInt(v - r.lo));
  }

  advanceCursorV4(v: number): void {
    const i = this.rangeIndexV4(v);
    if (i >= 0) this.cursor = { rangeIndex: i, offset: BigInt(v - (this.ranges[i] as RangeSlots).lo) };
  }

  /** Moves the cursor to an address that was just handed out dynamically. */
  advanceCursor(value: bigint): void {
    const p = this.locate(value);
    if (p) this.cursor = p;
  }

  get cursorAddress(): string | undefined {
    if (!this.cursor) return undefined;
    const { range } = this.ranges[this.cursor.rangeIndex] as RangeSlots;
    return formatAddress(this.family, range.start + this.cursor.offset);
  }
}
