/** Parsers of pfctl(8) output. */

/** `pfctl -s nat|rules`: one rule per line. */
export function parseRules(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('No ALTQ') && !l.startsWith('ALTQ'));
}

/** `pfctl [-a A] -s Anchors`: one anchor path per line, indented. */
export function parseAnchors(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * `pfctl [-a A] -s Tables`: one table name per line (pfctl_table.c print_table). With -v each line
 * is the flags, a tab, the name and, for a table in an anchor, a tab and the anchor
 * (`-pa-r--\tjailnet_masq\tjailnet/nat`): the name is taken. The `TABLES:` title of `-s all` and
 * blank lines are skipped.
 */
export function parseTables(output: string): string[] {
  const names: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (line === '' || line === 'TABLES:') continue;
    const verbose = /^[c-][p-][a-][i-][r-][h-][C-]?\t([^\t]+)/.exec(line);
    names.push(verbose ? (verbose[1] as string) : line);
  }
  return names;
}

/** `pfctl -t T -T show`: one address or network per line, indented by three spaces. */
export function parseTableAddresses(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** `pfctl -s info`: whether pf is enabled ("Status: Enabled for ..." / "Status: Disabled ..."). */
export function parsePfEnabled(output: string): boolean {
  const m = /^Status:\s+(Enabled|Disabled)/m.exec(output);
  if (!m) throw new Error('pfctl -s info printed no "Status:" line');
  return m[1] === 'Enabled';
}

/** What `pfctl -t T -T add|delete|replace|flush` reported changing (on stderr). */
export interface TableChanges {
  added: number;
  deleted: number;
  changed: number;
}

/**
 * The table messages of pfctl_table.c (xprintf: stderr, each ends with "."):
 * - add: `N/M addresses added.`; delete: `N/M addresses deleted.` (N changed of M given);
 * - replace: one line for each non-zero count, in this order: `N addresses added.`,
 *   `N addresses deleted.`, `N addresses changed.` (negation flipped), or `no changes.`;
 * - flush: `N addresses deleted.`.
 * Other lines (`1 table created.`, warnings) are ignored. `(dummy)`/`(syntax only)` forms of -n
 * are read the same way.
 */
export function parseTableChanges(stderr: string): TableChanges {
  const changes: TableChanges = { added: 0, deleted: 0, changed: 0 };
  for (const m of stderr.matchAll(/^(\d+)(?:\/\d+)? addresses (added|deleted|changed)(?: \((?:dummy|syntax only)\))?\.$/gm)) {
    changes[m[2] as keyof TableChanges] += Number(m[1]);
  }
  return changes;
}

/** The number of addresses a table command added, deleted or changed, all together (see parseTableChanges). */
export function parseTableChangeCount(stderr: string): number {
  const c = parseTableChanges(stderr);
  return c.added + c.deleted + c.changed;
}
