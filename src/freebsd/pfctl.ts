import { CommandError } from './exec';
import { isPfObjectMissing } from './errors';
import { anchorName, tableName } from './names';
import { parseAnchors, parsePfEnabled, parseRules, parseTableAddresses, parseTableChangeCount, parseTables } from './parse/pfctl';
import { runTool } from './tools';
import { ipAddress } from './values';

/**
 * pfctl(8) operations. jailnet only ever writes inside anchors under "jailnet/", never the
 * main ruleset; rule text comes from src/pf, rendered from validated values.
 */

/** `pfctl -a ANCHOR -f -` with the rules on stdin: replaces the anchor's rules and tables. */
export async function loadAnchor(anchor: string, rules: string): Promise<void> {
  await runTool('pfctl', ['-a', anchorName(anchor), '-f', '-'], { input: rules });
}

/**
 * `pfctl -nv -a ANCHOR -f -`: the rules as pfctl prints them (`-s nat` / `-s rules` form),
 * parsed and checked without loading anything. Lets a caller compare what it would load with
 * what is loaded without knowing pfctl's canonical form (port names, pool options...).
 */
export async function parseAnchorRules(anchor: string, rules: string): Promise<string[]> {
  return parseRules((await runTool('pfctl', ['-nv', '-a', anchorName(anchor), '-f', '-'], { input: rules })).stdout);
}

/** `pfctl -a ANCHOR -F all`: empties that anchor only. Succeeds when it is already gone. */
export async function flushAnchor(anchor: string): Promise<void> {
  try {
    await runTool('pfctl', ['-a', anchorName(anchor), '-F', 'all']);
  } catch (err) {
    if (!isPfObjectMissing(err)) throw err;
  }
}

/** `pfctl [-a ANCHOR] -s nat|rules`: the loaded rules, one per entry. */
export async function showRules(kind: 'nat' | 'rules', anchor?: string): Promise<string[]> {
  const args = anchor === undefined ? ['-s', kind] : ['-a', anchorName(anchor), '-s', kind];
  try {
    return parseRules((await runTool('pfctl', args)).stdout);
  } catch (err) {
    if (anchor !== undefined && isPfObjectMissing(err)) return [];
    throw err;
  }
}

/** `pfctl [-a ANCHOR] -s Anchors`: child anchors (recursively under ANCHOR when given). */
export async function listAnchors(anchor?: string): Promise<string[]> {
  const args = anchor === undefined ? ['-s', 'Anchors'] : ['-a', anchorName(anchor, true), '-s', 'Anchors'];
  try {
    return parseAnchors((await runTool('pfctl', args)).stdout);
  } catch (err) {
    if (anchor !== undefined && isPfObjectMissing(err)) return [];
    throw err;
  }
}

/** `pfctl [-a ANCHOR] -s Tables`. */
export async function listTables(anchor?: string): Promise<string[]> {
  const args = anchor === undefined ? ['-s', 'Tables'] : ['-a', anchorName(anchor), '-s', 'Tables'];
  return parseTables((await runTool('pfctl', args)).stdout);
}

type TableVerb = 'add' | 'delete' | 'replace';

function tableArgs(anchor: string | undefined, table: string, verb: TableVerb | 'show' | 'flush' | 'kill', addresses: readonly string[] = []): string[] {
  const args = anchor === undefined ? [] : ['-a', anchorName(anchor)];
  args.push('-t', tableName(table), '-T', verb, ...addresses.map(tableEntry));
  return args;
}

/** A table entry: an address or a network ("10.88.0.0/16"). */
function tableEntry(entry: string): string {
  const [addr, prefix, ...rest] = entry.split('/');
  ipAddress(addr);
  if (rest.length > 0 || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) throw new Error(`invalid pf table entry "${entry}"`);
  return entry;
}

export interface TableChange {
  /** pfctl created the table for this call ("1 table created."): it did not exist before. */
  tableCreated: boolean;
  /** Addresses added, deleted or changed, as pfctl counted them. */
  count: number;
}

/** `pfctl [-a A] -t T -T add|delete|replace ADDR...`; add and replace create a missing table. */
export async function changeTable(verb: TableVerb, table: string, addresses: readonly string[], anchor?: string): Promise<TableChange> {
  const r = await runTool('pfctl', tableArgs(anchor, table, verb, addresses));
  return { tableCreated: /^\d+ tables? created/m.test(r.stderr), count: parseTableChangeCount(r.stderr) };
}

/** `pfctl [-a A] -t T -T kill`: removes the table. Succeeds when it is already gone. */
export async function killTable(table: string, anchor?: string): Promise<void> {
  try {
    await runTool('pfctl', tableArgs(anchor, table, 'kill'));
  } catch (err) {
    if (!isPfObjectMissing(err)) throw err;
  }
}

/** `pfctl [-a A] -t T -T show`; empty when the table does not exist. */
export async function showTable(table: string, anchor?: string): Promise<string[]> {
  try {
    return parseTableAddresses((await runTool('pfctl', tableArgs(anchor, table, 'show'))).stdout);
  } catch (err) {
    if (isPfObjectMissing(err)) return [];
    throw err;
  }
}

/** `pfctl [-a A] -t T -T flush`. */
export async function flushTable(table: string, anchor?: string): Promise<void> {
  try {
    await runTool('pfctl', tableArgs(anchor, table, 'flush'));
  } catch (err) {
    if (!isPfObjectMissing(err)) throw err;
  }
}

/** `pfctl -s info`: whether pf is enabled. */
export async function isPfEnabled(): Promise<boolean> {
  return parsePfEnabled((await runTool('pfctl', ['-s', 'info'])).stdout);
}

/** `pfctl -e`; false when pf was already enabled. */
export async function enablePf(): Promise<boolean> {
  try {
    await runTool('pfctl', ['-e']);
    return true;
  } catch (err) {
    if (err instanceof CommandError && /already enabled/.test(err.stderr)) return false;
    throw err;
  }
}

/** `pfctl -k HOST`: kills the states from HOST (e.g. a jail's address after it is detached). */
export async function killStatesFrom(host: string): Promise<void> {
  await runTool('pfctl', ['-k', ipAddress(host)]);
}
