import { ToolError, type EmuContext, type ToolIo } from './context';
import { getopt } from './getopt';
import { findJail, jailNotFoundMessage, readJails, type JailRecord } from './jails';

/** jls(8): the default table (-N: names instead of JIDs), parameter lists (-n, -q, -s, -h), -j, and --libxo json. */

/** jls.c prints its usage with xo_errx(1, ...): with the "jls: " prefix, exit status 1. */
const USAGE = 'jls: usage: jls [-dhNnqv] [-j jail] [param ...]';

type Value = string | number | boolean | string[];

const BOOLS = new Set(['persist', 'dying', 'nopersist']);

async function paramValue(j: JailRecord, param: string): Promise<Value> {
  switch (param) {
    case 'jid':
      return j.jid;
    case 'name':
      return j.name;
    case 'vnet':
      return j.vnet ? 'new' : 'inherit';
    case 'path':
      return j.path;
    case 'host.hostname':
      return j.hostname;
    case 'host':
      return 'new';
    case 'persist':
      return j.persist;
    case 'dying':
      return false;
    case 'parent':
      return 0;
    case 'cpuset.id':
      return 1 + j.jid;
    case 'children.max':
    case 'children.cur':
    case 'securelevel':
      return param === 'securelevel' ? -1 : 0;
    case 'devfs_ruleset':
      return 0;
    case 'enforce_statfs':
      return 2;
    case 'osrelease':
      return '14.1-RELEASE';
    case 'osreldate':
      return 1401000;
    case 'ip4.addr':
    case 'ip6.addr':
      return [];
    case 'ip4':
    case 'ip6':
      return j.vnet ? 'new' : 'disable';
  }
  throw new ToolError(`unknown parameter: ${param}`);
}

function quoted(s: string): string {
  if (s === '') return '""';
  const qc = s.includes("'") ? '"' : s.includes('"') ? "'" : /[ \t]/.test(s) ? '"' : '';
  if (!qc) return s;
  return `${qc}${s.replace(/\\/g, '\\\\').split(qc).join(`\\${qc}`)}${qc}`;
}

function shown(v: Value): string {
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

export async function jlsMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  // libxo's options come before getopt's.
  let json = false;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--libxo') {
      json = /json/.test(argv[++i] ?? '');
    } else if (a.startsWith('--libxo=') || a.startsWith('--libxo:')) {
      json = /json/.test(a);
    } else args.push(a);
  }
  const { opts, rest } = getopt('jls', args, 'adj:hNnqsv', USAGE);
  let jailArg: string | undefined;
  let nameval = false;
  let quote = false;
  let header = false;
  let verbose = false;
  let byName = false;
  for (const o of opts) {
    if (o.opt === 'j') jailArg = o.arg;
    if (o.opt === 'n') nameval = true;
    if (o.opt === 'q') quote = true;
    if (o.opt === 's') nameval = quote = true;
    if (o.opt === 'h') header = true;
    if (o.opt === 'v') verbose = true;
    if (o.opt === 'N') byName = true;
  }
  let jails = readJails(ctx).jails;
  if (jailArg !== undefined) {
    const j = findJail(ctx, jailArg);
    if (!j) throw new ToolError(jailNotFoundMessage(jailArg));
    jails = [j];
  }
  const params = rest.length > 0 ? rest : nameval || header ? ['jid', 'name', 'path', 'persist', 'vnet', 'host.hostname'] : [];
  for (const p of params) await paramValue({ jid: 0, name: '', vnet: false, ns: '', path: '/', hostname: '', persist: false }, p);

  if (json) {
    const list: Record<string, Value>[] = [];
    for (const j of jails) {
      const rec: Record<string, Value> = {};
      if (params.length === 0) {
        Object.assign(rec, { jid: j.jid, ipv4: '', hostname: j.hostname, path: j.path });
        if (verbose) Object.assign(rec, { name: j.name, state: 'ACTIVE', cpusetid: j.jid + 1, ipv4_addrs: [], ipv6_addrs: [] });
      } else {
        // print_jail exports every parameter as a string (jailparam_export, quoted_print's
        // "{:name/%s}"); only ip4.addr/ip6.addr are lists (special_print).
        for (const p of params) {
          const v = await paramValue(j, p);
          rec[p] = Array.isArray(v) ? v : shown(v);
        }
      }
      list.push(rec);
    }
    io.out(`${JSON.stringify({ __version: '2', 'jail-information': { jail: list } })}\n`);
    return 0;
  }

  if (params.length === 0) {
    if (verbose) {
      io.out('   JID  Hostname                      Path\n        Name                          State\n        CPUSetID\n        IP Address(es)\n');
      for (const j of jails) io.out(`${String(j.jid).padStart(6)}  ${j.hostname.slice(0, 29).padEnd(29)} ${j.path}\n${''.padStart(6)}  ${j.name.slice(0, 29).padEnd(29)} ACTIVE\n${''.padStart(6)}  ${j.jid + 1}\n`);
      return 0;
    }
    // print_jail: "{:ipv4/%-15.15s}" of "" for a jail without IPv4 addresses (all vnet jails here).
    const rest = (j: JailRecord) => `${''.padEnd(15)} ${j.hostname.slice(0, 29).padEnd(29)} ${j.path.slice(0, 74)}\n`;
    if (byName) {
      io.out(` ${'JID'.padEnd(15)} ${'IP Address'.padEnd(15)} ${'Hostname'.padEnd(29)} Path\n`);
      for (const j of jails) io.out(` ${j.name.padEnd(15)} ${rest(j)}`);
      return 0;
    }
    io.out('   JID  IP Address      Hostname                      Path\n');
    for (const j of jails) io.out(`${String(j.jid).padStart(6)}  ${rest(j)}`);
    return 0;
  }
  if (header) io.out(`${params.join(' ')}\n`);
  for (const j of jails) {
    const words: string[] = [];
    for (const p of params) {
      const v = await paramValue(j, p);
      if (nameval && (typeof v === 'boolean' || BOOLS.has(p))) {
        words.push(v ? p : `no${p}`);
        continue;
      }
      const s = shown(v);
      const text = s === '' ? (quote ? '""' : nameval ? '' : '-') : quoted(s);
      words.push(nameval ? `${p}=${text}` : text);
    }
    io.out(`${words.join(' ')}\n`);
  }
  return 0;
}
