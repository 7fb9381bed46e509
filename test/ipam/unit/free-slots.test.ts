import { BitmapSlots, createFreeSlots, SparseSlots, type FreeSlots } from '../../../src/ipam/free-slots';

/** Runs the same random operations on an implementation and on a plain array of booleans. */
function compareWithReference(make: (size: number) => FreeSlots, size: number, ops: number): void {
  const slots = make(size);
  const ref = new Array<boolean>(size).fill(false);
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const mismatches: string[] = [];
  for (let i = 0; i < ops && mismatches.length < 5; i++) {
    const o = rnd(size);
    const op = rnd(3);
    if (op === 0) {
      if (slots.take(BigInt(o)) !== !ref[o]) mismatches.push(`take ${o}`);
      ref[o] = true;
    } else if (op === 1) {
      if (slots.free(BigInt(o)) !== ref[o]) mismatches.push(`free ${o}`);
      ref[o] = false;
    } else {
      let want = -1;
      for (let j = o; j < size; j++) {
        if (!ref[j]) {
          want = j;
          break;
        }
      }
      const got = slots.nextFree(BigInt(o));
      if (got !== BigInt(want)) mismatches.push(`nextFree ${o}: ${got} != ${want}`);
    }
  }
  expect(mismatches).toEqual([]);
  expect(slots.taken).toBe(ref.filter(Boolean).length);
}

describe('free slots', () => {
  test.each([1, 31, 32, 33, 1000, 1024, 1025, 40000])('bitmap of %i agrees with a reference', (size) => {
    compareWithReference((n) => new BitmapSlots(n), size, 20000);
  });

  test.each([1, 33, 1000])('sparse runs of %i agree with a reference', (size) => {
    compareWithReference((n) => new SparseSlots(BigInt(n)), size, 20000);
  });

  test('a full bitmap has no free slot; freeing one is found from anywhere before it', () => {
    const s = new BitmapSlots(65536);
    for (let i = 0; i < 65536; i++) s.take(BigInt(i));
    expect(s.nextFree(0n)).toBe(-1n);
    s.free(40000n);
    expect(s.nextFree(0n)).toBe(40000n);
    expect(s.nextFree(40001n)).toBe(-1n);
  });

  test('huge IPv6 ranges use sparse runs that merge', () => {
    const s = createFreeSlots(1n << 64n);
    expect(s).toBeInstanceOf(SparseSlots);
    for (let i = 0n; i < 1000n; i++) s.take(i);
    expect((s as SparseSlots).runs).toBe(1);
    expect(s.nextFree(0n)).toBe(1000n);
    s.free(500n);
    expect((s as SparseSlots).runs).toBe(2);
    expect(s.nextFree(0n)).toBe(500n);
    expect(s.nextFree((1n << 64n) - 1n)).toBe((1n << 64n) - 1n);
    s.take((1n << 64n) - 1n);
    expect(s.nextFree((1n << 64n) - 1n)).toBe(-1n);
  });
});
