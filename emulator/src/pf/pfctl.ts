/**
 * pfctl(8) of the emulated host: FreeBSD's option handling and order of operations (pfctl.c
 * main: -d, -s, -F, -k, -K, -T, -f, -e), its messages and exit statuses, acting on the
 * emulated pf state and, through it, on nftables in the host namespace.
 */
import { readFileSync } from 'node:fs';
import { type EmuContext, ToolError, type ToolIo, withLock } from '../context';
import { getopt, UsageError } from '../getopt';
import { type Family, formatIp, maskOf, parseIp, parseV4Net, parseV6 } from './addr';
import { emptyRuleset, type Ruleset, type Table } from './ast';
import { EMPTY_HOST, type HostInfo } from './hosts';
import { type ParseResult, parseRules } from './parser';
import { printRule, printTableDef } from './print';
import { Session } from './session';
import { showAnchors, showInfo, showLimits, showNat, showRules, showStates, showTables, showTimeouts, type ShowOptions } from './show';
import { anchorData, anchorExists, collectGarbage, descendantAnchors, type PfState } from './state';
import { flushStates, killStates, listStates, readHostInfo, readSysctls } from './sys';
import { ensureApplied } from './apply';
import { TABLE_COMMANDS, tableCommand, UsageNeeded } from './tablecmd';
import { replaceEntries } from './tables';

export const USAGE = `usage: pfctl [-AdeghMmNnOPqRSrvz] [-a anchor] [-D macro=value] [-F modifier]
	[-f file] [-i interface] [-K host | network]
	[-k host | network | gateway | label | id] [-o level] [-p device]
	[-s modifier] [-t table -T command [address ...]] [-x level]`;

const OPTSTRING = 'a:AdD:eqf:F:ghi:k:K:mMnNOo:Pp:rRs:St:T:vx:z';
const CLEAR_OPTS = ['nat', 'queue', 'rules', 'Sources', 'states', 'info', 'Tables', 'osfp', 'all', 'ethernet', 'Reset'];
const SHOW_OPTS = ['ether', 'nat', 'queue', 'rules', 'Anchors', 'Sources', 'states', 'info', 'Interfaces', 'labels', 'timeouts', 'memory', 'Tables', 'osfp', 'Running', 'all', 'creatorids'];
const DEBUG_OPTS = ['none', 'urgent', 'misc', 'loud'];
const OPTIM_OPTS = ['none', 'basic', 'profile'];

const LOAD_NAT = 1;
const LOAD_FILTER = 2;
const LOAD_OPTION = 4;
const LOAD_TABLE = 8;
const LOAD_ALL = 0xff;

function lookupOption(cmd: string, list: string[]): string | undefined {
  if (!cmd) return undefined;
  return list.find((l) => l.startsWith(cmd));
}

function usage(prefix = ''): never {
  throw new UsageError(`${prefix}${USAGE}`);
}

interface Opts {
  anchor?: string;
  enable: boolean;
  disable: boolean;
  quiet: boolean;
  clear?: string;
  iface?: string;
  kill: string[];
  srcKill: string[];
  noAction: boolean;
  rules?: string;
  show?: string;
  numeric: boolean;
  table?: string;
  tableCmd?: string;
  verbose: number;
  clearCounters: boolean;
  debug?: string;
  macros: Record<string, string>;
  loadopt: number;
  recurse: boolean;
}

function parseArgs(argv: string[], io: ToolIo): { o: Opts; rest: string[] } {
  if (argv.length < 1) usage();
  const { opts, rest } = getopt('pfctl', argv, OPTSTRING, USAGE);
  const o: Opts = { enable: false, disable: false, quiet: false, kill: [], srcKill: [], noAction: false, numeric: false, verbose: 0, clearCounters: false, macros: {}, loadopt: 0, recurse: false };
  for (const { opt, arg = '' } of opts) {
    switch (opt) {
      case 'a':
        o.anchor = arg;
        break;
      case 'd':
        o.disable = true;
        break;
      case 'D': {
        const i = arg.lastIndexOf('=');
        if (i < 0) io.err(`pfctl: could not parse macro definition ${arg}\n`);
        else o.macros[arg.slice(0, i)] = arg.slice(i + 1);
        break;
      }
      case 'e':
        o.enable = true;
        break;
      case 'q':
        o.quiet = true;
        break;
      case 'F':
        o.clear = lookupOption(arg, CLEAR_OPTS);
        if (!o.clear) usage(`pfctl: Unknown flush modifier '${arg}'\n`);
        break;
      case 'i':
        o.iface = arg;
        break;
      case 'k':
        if (o.kill.length >= 2) usage('pfctl: can only specify -k twice\n');
        o.kill.push(arg);
        break;
      case 'K':
        if (o.srcKill.length >= 2) usage('pfctl: can only specify -K twice\n');
        o.srcKill.push(arg);
        break;
      case 'n':
        o.noAction = true;
        break;
      case 'N':
        o.loadopt |= LOAD_NAT;
        break;
      case 'R':
        o.loadopt |= LOAD_FILTER;
        break;
      case 'O':
        o.loadopt |= LOAD_OPTION;
        break;
      case 'A':
        break;
      case 'f':
        o.rules = arg;
        break;
      case 'P':
        o.numeric = true;
        break;
      case 's':
        o.show = lookupOption(arg, SHOW_OPTS);
        if (!o.show) usage(`pfctl: Unknown show modifier '${arg}'\n`);
        break;
      case 't':
        o.table = arg;
        break;
      case 'T':
        o.tableCmd = lookupOption(arg, TABLE_COMMANDS);
        if (!o.tableCmd) usage(`pfctl: Unknown table command '${arg}'\n`);
        break;
      case 'v':
        o.verbose = Math.min(2, o.verbose + 1);
        break;
      case 'x':
        o.debug = lookupOption(arg, DEBUG_OPTS);
        if (!o.debug) usage(`pfctl: Unknown debug level '${arg}'\n`);
        break;
      case 'o':
        if (!lookupOption(arg, OPTIM_OPTS)) usage(`pfctl: Unknown optimization '${arg}'\n`);
        break;
      case 'z':
        o.clearCounters = true;
        break;
      case 'h':
        usage();
      // falls through (never reached)
      default:
        break; // g, m, M, p, r, S: accepted, no effect here
    }
  }
  return { o, rest };
}

/** `pfctl ...` as FreeBSD runs it. */
export async function pfctlMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  try {
    return await pfctl(ctx, argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.text}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

async function pfctl(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  const { o, rest } = parseArgs(argv, io);
  if ((o.tableCmd === undefined) !== (o.table === undefined)) usage();
  let writes = o.disable || o.enable || o.clear !== undefined || o.kill.length > 0 || o.srcKill.length > 0 || o.rules !== undefined || o.debug !== undefined || o.clearCounters;
  let tableArgs: string[] = [];
  if (o.tableCmd !== undefined) {
    tableArgs = rest;
    if (o.tableCmd === 'load') {
      o.loadopt |= LOAD_TABLE;
      o.tableCmd = undefined;
      o.table = undefined;
      throw new ToolError('-T load is not supported by the emulated pfctl');
    }
    if (!['show', 'test'].includes(o.tableCmd)) writes = true;
  } else if (rest.length) usage(`pfctl: unknown command line argument: ${rest[0]} ...\n`);
  if (o.loadopt === 0) o.loadopt = LOAD_ALL;

  let anchor = '';
  if (o.anchor !== undefined) {
    let a = o.anchor;
    if (a === '') throw new ToolError('anchor name must not be empty');
    if (!writes && o.show === undefined && o.tableCmd === undefined) usage('pfctl: anchors apply to -f, -F, -s, and -T only\n');
    if (writes && o.tableCmd === undefined && (a.startsWith('_') || a.includes('/_'))) throw new ToolError("anchor names beginning with '_' cannot be modified from the command line");
    if (a.endsWith('*')) {
      a = a.length >= 2 && a[a.length - 2] === '/' ? a.slice(0, -2) : a.slice(0, -1);
      o.recurse = true;
    }
    if (a.length >= 1024) throw new ToolError(`anchor name '${o.anchor}' too long`);
    anchor = a.replace(/^\/+/, '');
    o.loadopt &= LOAD_FILTER | LOAD_NAT | LOAD_TABLE;
  }
  if (o.noAction) {
    o.enable = false;
    o.disable = false;
    o.clear = undefined;
    o.show = undefined;
    o.debug = undefined;
    writes = false;
  }

  // Reading and parsing the rules needs no lock: only loading them does.
  const pre = o.rules !== undefined ? await readRules(ctx, o, anchor) : undefined;
  const body = async () => {
    const s = new Session(ctx);
    let exit = 0;
    let failure: unknown;
    try {
      exit = await steps(s, o, anchor, tableArgs, io, pre);
    } catch (err) {
      failure = err;
    }
    return { exit, failure, version: s.save() };
  };
  const r = writes ? await withLock(ctx, 'pf', body) : await body();
  if (r.version !== undefined) await ensureApplied(ctx, r.version);
  if (r.failure !== undefined) throw r.failure;
  return r.exit;
}

async function steps(s: Session, o: Opts, anchor: string, tableArgs: string[], io: ToolIo, pre: PreParsed | undefined): Promise<number> {
  let exit = 0;
  const msg = (m: string) => {
    if (!o.quiet) io.err(`${m}\n`);
  };
  const showOpts: ShowOptions = { verbose: o.verbose, numeric: o.numeric, recurse: o.recurse };

  if (o.disable) {
    if (!s.state.enabled) throw new ToolError('pf not enabled');
    s.state.enabled = false;
    delete s.state.filterLocal;
    s.state.since = Math.floor(Date.now() / 1000);
    s.touch();
    msg('pf disabled');
  }

  if (o.show !== undefined) exit = (await show(s, o, anchor, showOpts, io)) || exit;

  if (o.clear !== undefined) exit = (await clear(s, o, anchor, io, msg)) || exit;

  if (o.kill.length) await kill(s, o, io, msg);
  if (o.srcKill.length) msg(`killed 0 src nodes from ${o.srcKill.length ? 1 : 0} sources and ${o.srcKill.length > 1 ? 1 : 0} destinations`);

  if (o.tableCmd !== undefined && o.table !== undefined) {
    if (o.table.length >= 32) usage();
    if (needsHost(tableArgs)) await s.host();
    let r: { code: number; changed: boolean };
    try {
      r = tableCommand(s.state, anchor, o.table, o.tableCmd, tableArgs, () => s.hostSync() ?? EMPTY_HOST, { quiet: o.quiet, verbose: o.verbose, noAction: o.noAction }, io);
    } catch (err) {
      if (err instanceof UsageNeeded) usage();
      throw err;
    }
    if (r.changed) s.touch();
    exit = r.code;
  }

  if (o.rules !== undefined) {
    // A ruleset that does not parse is not loaded, and pfctl exits at once (status 1).
    if (!loadRules(s, o, anchor, io, pre as PreParsed)) return 1;
  }

  if (o.enable) {
    if (s.state.enabled) throw new ToolError('pf already enabled');
    s.state.enabled = true;
    s.state.filterLocal = readSysctls(s.ctx).filterLocal;
    s.state.since = Math.floor(Date.now() / 1000);
    s.touch();
    msg('pf enabled');
  }

  if (o.debug !== undefined && !o.quiet) io.err(`debug level set to '${o.debug === 'loud' ? 'loud' : o.debug}'\n`);
  return exit;
}

/** Table addresses that are not literal addresses need the host's interfaces. */
function needsHost(args: string[]): boolean {
  return args.some((a) => {
    const r = a.replace(/^!+/, '');
    const base = r.includes('/') ? r.slice(0, r.lastIndexOf('/')) : r;
    return parseIp(base) === null && parseV4Net(base) === null && parseV6(base) === null;
  });
}

// ---- -s -------------------------------------------------------------------------------------

async function show(s: Session, o: Opts, anchor: string, so: ShowOptions, io: ToolIo): Promise<number> {
  const st = s.state;
  const emit = (r: { out: string; err: string }) => {
    io.out(r.out);
    io.err(r.err);
  };
  switch (o.show) {
    case 'nat':
      emit(showNat(st, anchor, so));
      return 0;
    case 'rules':
      emit(showRules(st, anchor, so));
      return 0;
    case 'labels':
    case 'ether':
    case 'Sources':
    case 'queue':
      return 0;
    case 'Anchors':
      emit(showAnchors(st, anchor, so));
      return 0;
    case 'Tables': {
      const r = showTables(st, anchor, so);
      emit(r);
      return r.fail ? 1 : 0;
    }
    case 'info':
      io.out(showInfo(st, st.enabled ? (await listStates(s.ctx)).length : 0, so));
      return 0;
    case 'Running':
      io.out(`${st.enabled ? 'Enabled' : 'Disabled'}\n`);
      return st.enabled ? 0 : 1;
    case 'states':
      io.out(showStates(await listStates(s.ctx)));
      return 0;
    case 'timeouts':
      io.out(showTimeouts());
      return 0;
    case 'memory':
      io.out(showLimits());
      return 0;
    case 'Interfaces': {
      const h = await s.host();
      const skip = st.options.skip ?? [];
      const names = [...h.ifaces.map((i) => i.name), ...Object.keys(h.groups)].sort();
      for (const n of [...new Set(names)]) io.out(`${n}${o.verbose && skip.includes(n) ? ' (skip)' : ''}\n`);
      return 0;
    }
    case 'osfp':
      io.out('Class\tVersion\tSubtype(subversion)\n-----\t-------\t-------------------\n');
      return 0;
    case 'creatorids':
      io.out('Creator IDs:\n00000000\n');
      return 0;
    case 'all': {
      let first = true;
      const title = (t: string) => {
        io.out(`${first ? '' : '\n'}${t}\n`);
        first = false;
      };
      const nat = showNat(st, anchor, so);
      if (nat.out) {
        title('TRANSLATION RULES:');
        io.out(nat.out);
      }
      const rules = showRules(st, anchor, so);
      title('FILTER RULES:');
      io.out(rules.out);
      const states = await listStates(s.ctx);
      if (states.length) {
        title('STATES:');
        io.out(showStates(states));
      }
      title('INFO:');
      io.out(showInfo(st, states.length, so));
      title('TIMEOUTS:');
      io.out(showTimeouts());
      title('LIMITS:');
      io.out(showLimits());
      const tables = showTables(st, anchor, so);
      if (tables.out) {
        title('TABLES:');
        io.out(tables.out);
      }
      title('OS FINGERPRINTS:');
      io.out('0 fingerprints loaded\n');
      return 0;
    }
    default:
      return 0;
  }
}

// ---- -F -------------------------------------------------------------------------------------

function clearRules(st: PfState, anchor: string, lists: Array<keyof Ruleset>): void {
  const a = st.anchors[anchor];
  if (!a) return;
  for (const l of lists) a.ruleset[l] = [];
}

function clearTables(st: PfState, anchor: string): number {
  const a = st.anchors[anchor];
  if (!a) return 0;
  const n = Object.keys(a.tables).length;
  a.tables = {};
  return n;
}

async function clear(s: Session, o: Opts, anchor: string, io: ToolIo, msg: (m: string) => void): Promise<number> {
  const st = s.state;
  const suffix = o.noAction ? ' (dummy)' : '';
  let exit = 0;
  /** pfctl_clear_tables: the anchor may have vanished with its rules (ENOENT). */
  const tables = () => {
    collectGarbage(st);
    if (!anchorExists(st, anchor)) {
      io.err('pfctl: Anchor does not exist.\n');
      exit = 1;
      return;
    }
    msg(`${clearTables(st, anchor)} tables deleted${suffix}.`);
  };
  const recursive = (fn: (path: string) => void) => {
    const paths = [anchor, ...descendantAnchors(st, anchor)];
    io.out('Removing:\n');
    for (const p of paths) {
      io.out(`  ${p === '' ? '/' : p}\n`);
      fn(p);
    }
  };
  switch (o.clear) {
    case 'rules':
      if (o.recurse) recursive((p) => clearRules(st, p, ['scrub', 'filter']));
      else {
        clearRules(st, anchor, ['scrub', 'filter']);
        msg('rules cleared');
      }
      break;
    case 'nat':
      clearRules(st, anchor, ['nat', 'rdr']);
      msg('nat cleared');
      break;
    case 'Tables':
      if (o.recurse) recursive((p) => void clearTables(st, p));
      else tables();
      break;
    case 'states':
      msg(`${await flushStates(s.ctx)} states cleared`);
      break;
    case 'info':
      msg('pf: statistics cleared');
      break;
    case 'Sources':
      msg('source tracking entries cleared');
      break;
    case 'ethernet':
      msg('Ethernet rules cleared');
      break;
    case 'Reset':
      st.options.skip = [];
      msg('pf: interface flags reset');
      break;
    case 'all':
      if (o.iface) usage("pfctl: don't specify an interface with -Fall\n");
      msg('Ethernet rules cleared');
      clearRules(st, anchor, ['scrub', 'filter']);
      msg('rules cleared');
      clearRules(st, anchor, ['nat', 'rdr']);
      msg('nat cleared');
      if (o.recurse)
        recursive((p) => {
          clearTables(st, p);
          clearRules(st, p, ['scrub', 'filter', 'nat', 'rdr']);
        });
      else tables();
      if (anchor === '') {
        msg(`${await flushStates(s.ctx)} states cleared`);
        msg('source tracking entries cleared');
        msg('pf: statistics cleared');
        st.options.skip = [];
        msg('pf: interface flags reset');
      }
      break;
    default:
      break; // queue, osfp: nothing to clear
  }
  s.touch();
  return exit;
}

// ---- -k -------------------------------------------------------------------------------------

function addrPrefix(spec: string): { af: Family; addr: string; mask: string } {
  const slash = spec.indexOf('/');
  const base = slash >= 0 ? spec.slice(0, slash) : spec;
  const ip = parseIp(base);
  if (!ip) throw new ToolError('getaddrinfo: hostname nor servname provided, or not known');
  let prefix = ip.af === 4 ? 32 : 128;
  if (slash >= 0) {
    const p = spec.slice(slash + 1);
    if (!/^\d+$/.test(p) || Number(p) > prefix) throw new ToolError(`prefix is ${/^\d+$/.test(p) ? 'too large' : 'invalid'}: ${p}`);
    prefix = Number(p);
  }
  return { af: ip.af, addr: formatIp(ip), mask: formatIp({ af: ip.af, v: maskOf(ip.af, prefix) }) };
}

async function kill(s: Session, o: Opts, io: ToolIo, msg: (m: string) => void): Promise<void> {
  let killers = [...o.kill];
  const first = killers[0] as string;
  if (['label', 'id', 'gateway', 'key'].includes(first)) {
    if (killers.length !== 2) usage(`pfctl: no ${first} specified\n`);
    throw new ToolError(`-k ${first} is not supported by the emulated pfctl`);
  }
  if (killers.length === 2 && first === 'nat') killers = killers.slice(1);
  const src = addrPrefix(killers[0] as string);
  let killed = 0;
  let dests = 0;
  if (killers.length > 1) {
    const dst = addrPrefix(killers[1] as string);
    if (dst.af === src.af) {
      dests = 1;
      killed = await killStates(s.ctx, src.af, src, dst);
    }
  } else killed = await killStates(s.ctx, src.af, src);
  void io;
  msg(`killed ${killed} states from 1 sources and ${dests} destinations`);
}

// ---- -f -------------------------------------------------------------------------------------

class NeedHost extends Error {}

/** The rules text read and parsed (or the reason it could not be read). */
interface PreParsed {
  readError?: string;
  parsed?: ParseResult;
}

async function readRules(ctx: EmuContext, o: Opts, anchor: string): Promise<PreParsed> {
  const path = o.rules as string;
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { readError: e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'EISDIR' ? 'Is a directory' : e.code === 'EACCES' ? 'Permission denied' : e.message };
  }
  const filename = path === '-' ? 'stdin' : path;
  let host: HostInfo | undefined;
  const attempt = () =>
    parseRules(text, {
      anchor,
      filename,
      macros: o.macros,
      host: () => {
        if (!host) throw new NeedHost();
        return host;
      },
    });
  try {
    return { parsed: attempt() };
  } catch (err) {
    if (!(err instanceof NeedHost)) throw err;
    host = await readHostInfo(ctx);
    return { parsed: attempt() };
  }
}

/** pfctl_rules: report parse errors, or replace the anchor's rule lists and defined tables. */
function loadRules(s: Session, o: Opts, anchor: string, io: ToolIo, pre: PreParsed): boolean {
  if (pre.readError !== undefined) {
    io.err(`pfctl: ${o.rules}: ${pre.readError}\n`);
    io.err(`pfctl: cannot open the main config file!: ${pre.readError}\n`);
    if (!o.noAction) io.err('pfctl: Syntax error in config file: pf rules not loaded\n');
    return false;
  }
  const parsed = pre.parsed as ParseResult;
  for (const e of parsed.errors) io.err(`${e}\n`);
  if (parsed.failed) {
    if (!o.noAction) io.err('pfctl: Syntax error in config file: pf rules not loaded\n');
    return false;
  }
  if (o.verbose) printLoaded(parsed, anchor, o, io);
  if (o.noAction) return true;
  const st = s.state;
  for (const [path_, content] of Object.entries(parsed.anchors)) {
    const data = anchorData(st, path_);
    const rs = content.ruleset ?? emptyRuleset();
    if (o.loadopt & LOAD_FILTER) {
      data.ruleset.scrub = rs.scrub;
      data.ruleset.filter = rs.filter;
    }
    if (o.loadopt & LOAD_NAT) {
      data.ruleset.nat = rs.nat;
      data.ruleset.rdr = rs.rdr;
    }
    if (o.loadopt & (LOAD_TABLE | LOAD_FILTER | LOAD_NAT)) for (const t of content.tables) data.tables[t.name] = definedTable(data.tables[t.name], t);
  }
  if (anchor === '' && o.loadopt & LOAD_OPTION) {
    st.options = { ...parsed.options };
  }
  s.touch();
  return true;
}

/**
 * A table definition loaded over what the anchor holds (sys/netpfil/pf/pf_table.c: pfr_ina_define
 * makes a shadow table, pfr_commit_ktable commits it). The definition's flags replace the old
 * ones. Its addresses: with an address list (PFR_FLAG_ADDRSTOO) an existing table ends up
 * holding exactly the list (the listed ones it lacks added, the others removed), a new one the
 * list; without a list (shadow NO_ADDRESSES) an existing table keeps its addresses.
 */
function definedTable(existing: Table | undefined, def: Table): Table {
  const entries = existing && !def.initAddr ? existing.entries : replaceEntries(existing?.entries ?? [], def.entries).entries;
  return { name: def.name, persist: def.persist, const: def.const, counters: def.counters, entries };
}

function printLoaded(parsed: ParseResult, anchor: string, o: Opts, io: ToolIo): void {
  const root = parsed.anchors[anchor];
  if (!root) return;
  for (const t of root.tables) io.out(`${printTableDef(t, t.initAddr === true)}\n`);
  const print = (path: string, depth: number, lists: Array<keyof Ruleset>) => {
    const rs = parsed.anchors[path]?.ruleset;
    if (!rs) return;
    for (const l of lists) {
      for (const r of rs[l]) {
        const pad = o.verbose > 1 ? '' : '  '.repeat(depth);
        io.out(`${pad}${printRule(r, { numeric: o.numeric })}`);
        const inner = r.anchor && parsed.anchors[r.anchor.path] && r.anchor.path !== path ? r.anchor.path : undefined;
        if (inner && l === 'filter') {
          io.out(' {\n');
          print(inner, depth + 1, ['filter']);
          io.out(`${'  '.repeat(depth)}}\n`);
        } else io.out('\n');
      }
    }
  };
  print(anchor, 0, ['scrub', 'nat', 'rdr', 'filter']);
}
