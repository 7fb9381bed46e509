/**
 * `pfctl [-a ANCHOR] -t TABLE -T command [address ...]` (pfctl_table.c): the kernel's table
 * operations on the emulated state, with pfctl's messages ("1/1 addresses added.", "Table does
 * not exist.") on stderr and its exit statuses (255 for a failed operation, 2 for a test that
 * did not match every address).
 */
import { BITS, type Family, formatIp, network, parseIp, parseV4Net, parseV6 } from './addr';
import type { Table, TableEntry } from './ast';
import { findIface, type HostInfo, ifaLookup, isGroup, splitIfaceModifiers } from './hosts';
import { printTableEntry } from './print';
import { anchorData, type PfState } from './state';
import { addEntries, deleteEntries, replaceEntries, sortEntries, tableMatches } from './tables';

export const TABLE_COMMANDS = ['kill', 'flush', 'add', 'delete', 'load', 'replace', 'show', 'test', 'zero', 'expire', 'reset'];

export interface TableCmdIo {
  out(s: string): void;
  err(s: string): void;
}

export interface TableCmdOptions {
  quiet: boolean;
  verbose: number;
  noAction: boolean;
}

/** Thrown for a failed table operation: message already printed, exit 255 (pfctl's exit(-1)). */
export class TableFailure extends Error {}

function xprintf(io: TableCmdIo, o: TableCmdOptions, text: string): void {
  if (o.quiet) return;
  io.err(`${text}${o.noAction ? ' (dummy)' : ''}.\n`);
}

function radixError(io: TableCmdIo, text: string): never {
  io.err(`pfctl: ${text}.\n`);
  throw new TableFailure(text);
}

/**
 * append_addr: "[!]host" where host is an address, a network, an interface or group name (with
 * :network etc.) or "self". Prints pfctl's message and returns null when it cannot be decoded.
 */
export function decodeTableAddr(s: string, host: () => HostInfo, test: boolean): { entries: TableEntry[]; error?: string } {
  let r = s;
  let not = false;
  while (r.startsWith('!')) {
    not = !not;
    r = r.slice(1);
  }
  const fail = (msg: string) => ({ entries: [], error: msg });
  let mask = -1;
  let base = r;
  const slash = r.lastIndexOf('/');
  if (slash >= 0) {
    const m = r.slice(slash + 1);
    if (!/^\d+$/.test(m) || Number(m) > 128) return fail(`invalid netmask '${r.slice(slash)}'`);
    mask = Number(m);
    base = r.slice(0, slash);
  }
  const mk = (af: Family, v: bigint, prefix: number): TableEntry => ({ af, addr: formatIp({ af, v: network(af, v, prefix) }), prefix, neg: not });
  let out: TableEntry[] | null = null;
  const v4 = slash >= 0 ? parseV4Net(base) : parseIp(base)?.af === 4 ? (parseIp(base) as { v: bigint }).v : null;
  if (v4 !== null) {
    const p = mask < 0 ? 32 : mask;
    if (p > 32) return fail(`netmask ${p} invalid for IPv4 address`);
    out = [mk(4, v4, p)];
  } else {
    const v6 = parseV6(base);
    if (v6 !== null) out = [mk(6, v6, mask < 0 ? 128 : mask)];
  }
  if (!out) {
    const spec = splitIfaceModifiers(base);
    if (spec) {
      const { name, flags } = spec;
      const h = /^[A-Za-z]/.test(name) ? host() : { ifaces: [], groups: {} };
      if (name === 'self' || findIface(h, name) || isGroup(h, name)) {
        out = ifaLookup(h, name === 'self' ? null : name, flags).map((a) => mk(a.af, a.v, mask > -1 ? mask : a.prefix));
      }
    }
  }
  if (!out || !out.length) return fail(`no IP address found for ${r}`);
  if (test && out.some((e) => e.neg || e.prefix !== BITS[e.af])) return fail(`illegal addr for test: ${s}`);
  return { entries: out };
}

function feedback(io: TableCmdIo, ch: string, e: TableEntry): void {
  io.out(`${ch} ${e.neg ? '!' : ' '}${e.addr}${e.prefix < BITS[e.af] ? `/${e.prefix}` : ''}\n`);
}

/** Runs one table command; returns the exit status. Mutations are made on `state` (caller commits). */
export function tableCommand(
  state: PfState,
  anchor: string,
  name: string,
  command: string,
  args: string[],
  host: () => HostInfo,
  o: TableCmdOptions,
  io: TableCmdIo,
): { code: number; changed: boolean } {
  const data = state.anchors[anchor];
  const existing: Table | undefined = data?.tables[name];
  let changed = false;

  const decode = (test: boolean): TableEntry[] => {
    const out: TableEntry[] = [];
    for (const a of args) {
      const d = decodeTableAddr(a, host, test);
      if (d.error) {
        io.err(`${d.error}\n`);
        throw new TableFailure(d.error);
      }
      out.push(...d.entries);
    }
    return out;
  };
  const noArgs = () => {
    if (args.length) throw new UsageNeeded();
  };
  const mustExist = (): Table => {
    if (!existing) radixError(io, 'Table does not exist');
    return existing;
  };
  /** CREATE_TABLE: creates a persistent table when there is none. */
  const create = (): Table => {
    for (const [p, a] of Object.entries(state.anchors)) {
      if (p !== anchor && a.tables[name]) io.err(`pfctl: warning: table <${name}> already defined in anchor "${p || '/'}"\n`);
    }
    if (existing) return existing;
    const t: Table = { name, persist: true, const: false, counters: false, entries: [] };
    if (!o.noAction) {
      anchorData(state, anchor).tables[name] = t;
      changed = true;
    }
    xprintf(io, o, '1 table created');
    return t;
  };

  try {
    switch (command) {
      case 'kill': {
        noArgs();
        if (existing && !o.noAction) {
          delete (data as NonNullable<typeof data>).tables[name];
          changed = true;
        }
        xprintf(io, o, `${existing ? 1 : 0} table deleted`);
        return { code: 0, changed };
      }
      case 'flush': {
        noArgs();
        const t = mustExist();
        const n = t.entries.length;
        if (t.const) radixError(io, 'Operation not permitted');
        if (!o.noAction && n) {
          t.entries = [];
          changed = true;
        }
        xprintf(io, o, `${n} addresses deleted`);
        return { code: 0, changed };
      }
      case 'add': {
        const addrs = decode(false);
        const t = create();
        if (t.const) radixError(io, 'Operation not permitted');
        const r = addEntries(t.entries, addrs);
        if (!o.noAction && r.added) {
          t.entries = r.entries;
          changed = true;
        }
        xprintf(io, o, `${r.added}/${addrs.length} addresses added`);
        if (o.verbose) {
          const seen: TableEntry[] = [];
          for (const a of addrs) {
            const dup = seen.some((x) => x.addr === a.addr && x.prefix === a.prefix) || (existing?.entries ?? []).some((x) => x.addr === a.addr && x.prefix === a.prefix);
            seen.push(a);
            if (o.verbose > 1 || !dup) feedback(io, dup ? ' ' : 'A', a);
          }
        }
        return { code: 0, changed };
      }
      case 'delete': {
        const addrs = decode(false);
        const t = mustExist();
        if (t.const) radixError(io, 'Operation not permitted');
        const r = deleteEntries(t.entries, addrs);
        if (!o.noAction && r.deleted) {
          t.entries = r.entries;
          changed = true;
        }
        xprintf(io, o, `${r.deleted}/${addrs.length} addresses deleted`);
        return { code: 0, changed };
      }
      case 'replace': {
        const addrs = decode(false);
        const t = create();
        if (t.const) radixError(io, 'Operation not permitted');
        const r = replaceEntries(t.entries, addrs);
        if (!o.noAction && (r.added || r.deleted || r.changed)) {
          t.entries = r.entries;
          changed = true;
        }
        if (r.added) xprintf(io, o, `${r.added} addresses added`);
        if (r.deleted) xprintf(io, o, `${r.deleted} addresses deleted`);
        if (r.changed) xprintf(io, o, `${r.changed} addresses changed`);
        if (!r.added && !r.deleted && !r.changed) xprintf(io, o, 'no changes');
        return { code: 0, changed };
      }
      case 'show': {
        noArgs();
        const t = mustExist();
        for (const e of sortEntries(t.entries)) {
          io.out(`${printTableEntry(e)}\n`);
          if (o.verbose) {
            io.out('\tCleared:     Thu Jan  1 00:00:00 1970\n');
            for (const k of ['In/Block:', 'In/Pass:', 'Out/Block:', 'Out/Pass:']) io.out(`\t${k.padEnd(12)} [ Packets: ${'0'.padEnd(18)} Bytes: ${'0'.padEnd(18)} ]\n`);
          }
        }
        return { code: 0, changed };
      }
      case 'test': {
        const addrs = decode(true);
        const t = mustExist();
        let n = 0;
        for (const a of addrs) {
          const ip = parseIp(a.addr) as { v: bigint };
          const m = tableMatches(t.entries, a.af, ip.v);
          if (m) {
            n++;
            if (o.verbose) feedback(io, 'M', a);
          }
        }
        xprintf(io, o, `${n}/${addrs.length} addresses match`);
        return { code: n < addrs.length ? 2 : 0, changed };
      }
      case 'zero': {
        if (args.length) {
          const addrs = decode(false);
          mustExist();
          xprintf(io, o, `${addrs.length}/${addrs.length} addresses cleared`);
        } else {
          mustExist();
          xprintf(io, o, '1 table/stats cleared');
        }
        return { code: 0, changed };
      }
      case 'expire': {
        if (args.length !== 1) throw new UsageNeeded();
        if (!/^\d+$/.test(args[0] as string)) {
          io.err(`pfctl: expiry time: invalid\n`);
          return { code: 1, changed };
        }
        mustExist();
        xprintf(io, o, '0/0 addresses expired');
        return { code: 0, changed };
      }
      case 'reset': {
        noArgs();
        const t = mustExist();
        xprintf(io, o, `0/${t.entries.length} stats cleared`);
        return { code: 0, changed };
      }
      default:
        io.err(`pfctl: pfctl_table: unknown command '${command}'\n`);
        return { code: 0, changed };
    }
  } catch (err) {
    if (err instanceof TableFailure) return { code: 255, changed };
    throw err;
  }
}

/** The command line does not fit the table command: pfctl prints its usage. */
export class UsageNeeded extends Error {}
