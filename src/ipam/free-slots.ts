/**
 * Which offsets of a range are taken, with "next free offset at or after i" in time that does
 * not grow with how full the range is. Two implementations, chosen by range size:
 *  - BitmapSlots, a hierarchical bitmap, for ranges up to 2^24 addresses (every IPv4 range up
 *    to a /8, and IPv6 ranges of that size): 1 bit per address, plus one bit per 32-bit word
 *    at each level above saying "this word is full", so a search skips a full word, a full
 *    run of 1,024 addresses, 32,768... in one step.
 *  - SparseSlots, sorted disjoint runs of taken offsets, for bigger IPv6 ranges (a /64 has
 *    2^64 addresses): round-robin allocation makes neighbours, so runs stay few.
 */

export interface FreeSlots {
  readonly size: bigint;
  /** How many offsets are taken. */
  readonly taken: number;
  isTaken(offset: bigint): boolean;
  /** Marks an offset taken; false when it already was. */
  take(offset: bigint): boolean;
  /** Marks an offset free; false when it already was. */
  free(offset: bigint): boolean;
  /** The first free offset >= from, or -1n when there is none up to the end. */
  nextFree(from: bigint): bigint;
}

export const BITMAP_MAX_SIZE = 1n << 24n;

export function createFreeSlots(size: bigint): FreeSlots {
  return size <= BITMAP_MAX_SIZE ? new BitmapSlots(Number(size)) : new SparseSlots(size);
}

const FULL = 0xffffffff;

function lowestSetBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

export class BitmapSlots implements FreeSlots {
  readonly size: bigint;
  taken = 0;
  private readonly count: number;
  /** levels[0]: bit set = offset taken. levels[k]: bit set = word of levels[k-1] is full. */
  private readonly levels: Uint32Array[] = [];
  private readonly bitCounts: number[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`bitmap size must be a positive integer, got ${size}`);
    this.count = size;
    this.size = BigInt(size);
    let bits = size;
    for (;;) {
      const words = Math.ceil(bits / 32);
      const level = new Uint32Array(words);
      // Bits past the end are marked so that they never look free or "not full".
      const tail = bits % 32;
      if (tail !== 0) level[words - 1] = (FULL << tail) >>> 0;
      this.levels.push(level);
      this.bitCounts.push(bits);
      if (words === 1) break;
      bits = words;
    }
  }

  isTaken(offset: bigint): boolean {
    return this.isTakenAt(Number(offset));
  }

  take(offset: bigint): boolean {
    return this.takeAt(Number(offset));
  }

  free(offset: bigint): boolean {
    return this.freeAt(Number(offset));
  }

  /** The same operations on number offsets: no BigInt on the IPv4 path. */
  isTakenAt(i: number): boolean {
    return (((this.levels[0] as Uint32Array)[i >>> 5] as number) & (1 << (i & 31))) !== 0;
  }

  takeAt(offset: number): boolean {
    let i = offset;
    this.check(i);
    const base = this.levels[0] as Uint32Array;
    const bit = 1 << (i & 31);
    if (((base[i >>> 5] as number) & bit) !== 0) return false;
    this.taken++;
    for (let l = 0; l < this.levels.length; l++) {
      const level = this.levels[l] as Uint32Array;
      const w = i >>> 5;
      const word = ((level[w] as number) | (1 << (i & 31))) >>> 0;
      level[w] = word;
      if (word !== FULL) break;
      i = w;
    }
    return true;
  }

  freeAt(offset: number): boolean {
    let i = offset;
    this.check(i);
    const base = this.levels[0] as Uint32Array;
    if (((base[i >>> 5] as number) & (1 << (i & 31))) === 0) return false;
    this.taken--;
    for (let l = 0; l < this.levels.length; l++) {
      const level = this.levels[l] as Uint32Array;
      const w = i >>> 5;
      const wasFull = level[w] === FULL;
      level[w] = ((level[w] as number) & ~(1 << (i & 31))) >>> 0;
      if (!wasFull) break;
      i = w;
    }
    return true;
  }

  nextFree(from: bigint): bigint {
    if (from < 0n || from >= this.size) return -1n;
    const found = this.findClear(0, Number(from));
    return found < 0 ? -1n : BigInt(found);
  }

  /** First clear bit at `level` at index >= from, or -1. */
  private findClear(level: number, from: number): number {
    if (from >= (this.bitCounts[level] as number)) return -1;
    const words = this.levels[level] as Uint32Array;
    const w = from >>> 5;
    const clear = ~(words[w] as number) & (FULL << (from & 31));
    if (clear !== 0) return w * 32 + lowestSetBit(clear);
    if (level + 1 >= this.levels.length) return -1;
    const next = this.findClear(level + 1, w + 1);
    if (next < 0) return -1;
    return next * 32 + lowestSetBit(~(words[next] as number));
  }

  private check(i: number): void {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`offset ${i} is outside a range of ${this.count} addresses`);
  }
}

/** Taken offsets as sorted, disjoint, non-adjacent runs [starts[k], ends[k]]. */
export class SparseSlots implements FreeSlots {
  readonly size: bigint;
  taken = 0;
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];

  constructor(size: bigint) {
    if (size <= 0n) throw new RangeError(`range size must be positive, got ${size}`);
    this.size = size;
  }

  /** Number of runs, for tests and status. */
  get runs(): number {
    return this.starts.length;
  }

  /** Index of the last run starting at or before `offset`, or -1. */
  private runAtOrBefore(offset: bigint): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as bigint) <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  isTaken(offset: bigint): boolean {
    const k = this.runAtOrBefore(offset);
    return k >= 0 && offset <= (this.ends[k] as bigint);
  }

  take(offset: bigint): boolean {
    if (offset < 0n || offset >= this.size) throw new RangeError(`offset ${offset} is outside a range of ${this.size} addresses`);
    const k = this.runAtOrBefore(offset);
    if (k >= 0 && offset <= (this.ends[k] as bigint)) return false;
    this.taken++;
    const joinsLeft = k >= 0 && this.ends[k] === offset - 1n;
    const joinsRight = k + 1 < this.starts.length && this.starts[k + 1] === offset + 1n;
    if (joinsLeft && joinsRight) {
      this.ends[k] = this.ends[k + 1] as bigint;
      this.starts.splice(k + 1, 1);
      this.ends.splice(k + 1, 1);
    } else if (joinsLeft) {
      this.ends[k] = offset;
    } else if (joinsRight) {
      this.starts[k + 1] = offset;
    } else {
      this.starts.splice(k + 1, 0, offset);
      this.ends.splice(k + 1, 0, offset);
    }
    return true;
  }

  free(offset: bigint): boolean {
    const k = this.runAtOrBefore(offset);
    if (k < 0 || offset > (this.ends[k] as bigint)) return false;
    this.taken--;
    const start = this.starts[k] as bigint;
    const end = this.ends[k] as bigint;
    if (start === end) {
      this.starts.splice(k, 1);
      this.ends.splice(k, 1);
    } else if (offset === start) {
      this.starts[k] = offset + 1n;
    } else if (offset === end) {
      this.ends[k] = offset - 1n;
    } else {
      this.ends[k] = offset - 1n;
      this.starts.splice(k + 1, 0, offset + 1n);
      this.ends.splice(k + 1, 0, end);
    }
    return true;
  }

  nextFree(from: bigint): bigint {
    if (from < 0n || from >= this.size) return -1n;
    const k = this.runAtOrBefore(from);
    if (k < 0 || from > (this.ends[k] as bigint)) return from;
    const after = (this.ends[k] as bigint) + 1n;
    return after < this.size ? after : -1n;
  }
}
