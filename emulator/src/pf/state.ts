/**
 * pf's kernel state as the emulator keeps it: enabled flag, options of the main ruleset, and
 * the anchor tree ('' = main ruleset) with each anchor's rules and tables. Pure helpers answer
 * what the kernel would: which anchors exist, which tables are alive, which table a rule uses.
 * Stored as the host's state file `pf.json` (read and written under the 'pf' lock).
 */
import { emptyRuleset, type Options, type Rule, type Ruleset, type Table } from './ast';

export const STATE_FILE = 'pf.json';

export interface AnchorData {
  ruleset: Ruleset;
  tables: Record<string, Table>;
}

export interface PfState {
  /** Bumped by every change (apply.ts applies versions in order, coalescing bursts). */
  version?: number;
  enabled: boolean;
  /**
   * net.pf.filter_local as it was when pf hooked into the stack (the last `pfctl -e`): pf reads
   * it only then (sys/netpfil/pf/pf_ioctl.c), so a later change waits for `pfctl -d; pfctl -e`.
   */
  filterLocal?: boolean;
  /** Seconds since the epoch of the last enable/disable (pf_status.since). */
  since: number;
  options: Options;
  anchors: Record<string, AnchorData>;
}

export function initialState(now = Math.floor(Date.now() / 1000)): PfState {
  return { enabled: false, since: now, options: {}, anchors: {} };
}

export function anchorData(s: PfState, path: string): AnchorData {
  return (s.anchors[path] ??= { ruleset: emptyRuleset(), tables: {} });
}

export function allRules(rs: Ruleset): Rule[] {
  return [...rs.scrub, ...rs.nat, ...rs.rdr, ...rs.filter];
}

function hasContent(a: AnchorData | undefined): boolean {
  return !!a && (allRules(a.ruleset).length > 0 || Object.keys(a.tables).length > 0);
}

/** Anchor paths referenced by anchor rules anywhere (they exist while referenced). */
function referencedAnchors(s: PfState): Set<string> {
  const out = new Set<string>();
  for (const a of Object.values(s.anchors)) for (const r of allRules(a.ruleset)) if (r.anchor && r.anchor.path) out.add(r.anchor.path);
  return out;
}

/** Every anchor that exists: with rules or tables, referenced, or a parent of one of those. */
export function existingAnchors(s: PfState): string[] {
  const set = new Set<string>();
  const add = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) set.add(parts.slice(0, i).join('/'));
  };
  for (const [p, a] of Object.entries(s.anchors)) if (p !== '' && hasContent(a)) add(p);
  for (const p of referencedAnchors(s)) add(p);
  return [...set].sort();
}

export function anchorExists(s: PfState, path: string): boolean {
  return path === '' || existingAnchors(s).includes(path);
}

/** Direct children of an anchor, sorted as pf's RB tree sorts them (strcmp). */
export function childAnchors(s: PfState, path: string): string[] {
  const prefix = path ? `${path}/` : '';
  return existingAnchors(s)
    .filter((p) => p.startsWith(prefix) && p.length > prefix.length && !p.slice(prefix.length).includes('/'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** All anchors below `path`, depth first, sorted (pfctl's recursive walk). */
export function descendantAnchors(s: PfState, path: string): string[] {
  const out: string[] = [];
  for (const c of childAnchors(s, path)) {
    out.push(c);
    out.push(...descendantAnchors(s, c));
  }
  return out;
}

function tableRefs(r: Rule): string[] {
  const out: string[] = [];
  for (const a of [r.src.addr, r.dst.addr, ...(r.pool?.hosts ?? [])]) if (a.type === 'table') out.push(a.name);
  return out;
}

/** The table a rule of anchor `path` uses for <name>: its own anchor's, else the main ruleset's. */
export function resolveTable(s: PfState, path: string, name: string): { anchor: string; table: Table } | undefined {
  const own = s.anchors[path]?.tables[name];
  if (own) return { anchor: path, table: own };
  const root = s.anchors['']?.tables[name];
  if (root) return { anchor: '', table: root };
  return undefined;
}

/**
 * Drops what the kernel drops: tables that are neither persistent nor referenced by a rule
 * (a main-ruleset table also counts as referenced by rules of anchors that fall back to it),
 * and anchors left with nothing.
 */
export function collectGarbage(s: PfState): void {
  const refsByAnchor = new Map<string, Set<string>>();
  for (const [p, a] of Object.entries(s.anchors)) {
    const set = new Set<string>();
    for (const r of allRules(a.ruleset)) for (const t of tableRefs(r)) set.add(t);
    refsByAnchor.set(p, set);
  }
  const rootRefs = new Set<string>(refsByAnchor.get('') ?? []);
  for (const [p, refs] of refsByAnchor) {
    if (p === '') continue;
    for (const t of refs) if (!s.anchors[p]?.tables[t]) rootRefs.add(t);
  }
  for (const [p, a] of Object.entries(s.anchors)) {
    const refs = p === '' ? rootRefs : (refsByAnchor.get(p) ?? new Set<string>());
    for (const [name, t] of Object.entries(a.tables)) if (!t.persist && !refs.has(name)) delete a.tables[name];
    if (p !== '' && !hasContent(a)) delete s.anchors[p];
  }
}

export function hasAnyRules(s: PfState): boolean {
  return Object.values(s.anchors).some((a) => allRules(a.ruleset).length > 0);
}
