/**
 * pf tables as address sets: entries are prefixes, some negated ("!10.0.0.5"); an address is
 * in the table when the most specific entry that contains it is not negated (radix-tree
 * longest match). The compiler needs that as disjoint ranges (nft interval sets); pfctl -T
 * needs add/delete/replace/test with the kernel's counts.
 */
import { type Family, parseIp, prefixRange } from './addr';
import type { TableEntry } from './ast';

export interface Interval {
  lo: bigint;
  hi: bigint;
}

function entryRange(e: TableEntry): [bigint, bigint] {
  const ip = parseIp(e.addr);
  if (!ip) throw new Error(`bad table entry ${e.addr}`);
  return prefixRange(e.af, ip.v, e.prefix);
}

/** The addresses of family `af` the table matches, as sorted disjoint merged intervals. */
export function effectiveRanges(entries: TableEntry[], af: Family): Interval[] {
  const mine = entries.filter((e) => e.af === af).sort((a, b) => a.prefix - b.prefix);
  // Segments painted from least to most specific: the last paint of a point is its longest match.
  let segs: Array<{ lo: bigint; hi: bigint; pos: boolean }> = [];
  for (const e of mine) {
    const [lo, hi] = entryRange(e);
    const next: typeof segs = [];
    for (const s of segs) {
      if (s.hi < lo || s.lo > hi) {
        next.push(s);
        continue;
      }
      if (s.lo < lo) next.push({ lo: s.lo, hi: lo - 1n, pos: s.pos });
      if (s.hi > hi) next.push({ lo: hi + 1n, hi: s.hi, pos: s.pos });
    }
    next.push({ lo, hi, pos: !e.neg });
    segs = next.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  }
  const out: Interval[] = [];
  for (const s of segs) {
    if (!s.pos) continue;
    const last = out[out.length - 1];
    if (last && last.hi + 1n === s.lo) last.hi = s.hi;
    else out.push({ lo: s.lo, hi: s.hi });
  }
  return out;
}

/** Longest-prefix lookup of one address (pfctl -T test). */
export function tableMatches(entries: TableEntry[], af: Family, v: bigint): boolean {
  let best: TableEntry | undefined;
  for (const e of entries) {
    if (e.af !== af) continue;
    const [lo, hi] = entryRange(e);
    if (v < lo || v > hi) continue;
    if (!best || e.prefix > best.prefix) best = e;
  }
  return best !== undefined && !best.neg;
}

const same = (a: TableEntry, b: TableEntry) => a.af === b.af && a.addr === b.addr && a.prefix === b.prefix;

/** pfr_add_addrs: returns the new entries and how many were added (duplicates and conflicts are not). */
export function addEntries(cur: TableEntry[], add: TableEntry[]): { entries: TableEntry[]; added: number } {
  const entries = [...cur];
  let added = 0;
  for (const a of add) {
    if (entries.some((e) => same(e, a))) continue;
    entries.push(a);
    added++;
  }
  return { entries, added };
}

/** pfr_del_addrs: an entry is deleted only when it exists with the same negation. */
export function deleteEntries(cur: TableEntry[], del: TableEntry[]): { entries: TableEntry[]; deleted: number } {
  let entries = [...cur];
  let deleted = 0;
  for (const d of del) {
    const before = entries.length;
    entries = entries.filter((e) => !(same(e, d) && e.neg === d.neg));
    deleted += before - entries.length;
  }
  return { entries, deleted };
}

/** pfr_set_addrs: the table becomes exactly `want`. */
export function replaceEntries(cur: TableEntry[], want: TableEntry[]): { entries: TableEntry[]; added: number; deleted: number; changed: number } {
  const uniq: TableEntry[] = [];
  for (const w of want) if (!uniq.some((u) => same(u, w))) uniq.push(w);
  let added = 0;
  let changed = 0;
  for (const w of uniq) {
    const old = cur.find((c) => same(c, w));
    if (!old) added++;
    else if (old.neg !== w.neg) changed++;
  }
  const deleted = cur.filter((c) => !uniq.some((u) => same(u, c))).length;
  return { entries: uniq, added, deleted, changed };
}

/** Radix-walk order: IPv4 before IPv6, by address, then by prefix. */
export function sortEntries(entries: TableEntry[]): TableEntry[] {
  return [...entries].sort((a, b) => {
    if (a.af !== b.af) return a.af - b.af;
    const va = (parseIp(a.addr) as { v: bigint }).v;
    const vb = (parseIp(b.addr) as { v: bigint }).v;
    if (va !== vb) return va < vb ? -1 : 1;
    return a.prefix - b.prefix;
  });
}
