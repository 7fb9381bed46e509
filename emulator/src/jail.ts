import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { ToolError, statePath, withLock, type EmuContext, type ToolIo } from './context';
import { run } from './exec';
import { getopt, UsageError } from './getopt';
import { notifyPf } from './pf-hook';
import { findJail, readJails, vnetNamespaces, writeJails, type JailRecord } from './jails';
import { metaOf } from './meta';
import { IP, ipBatch, netnsPids, readLinks } from './netns';
import { forgetJailProcs, recordedProcs } from './procs';
import { dropVnet, freeUnits, type Cloner } from './units';

/** jail(8): -c (create), -r/-R (remove), -m (modify) with command-line parameters. */

const USAGE = `usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]
            -[cmr] param=value ... [command=command ...]
       jail [-dqv] [-f file] -[cmr] [jail]
       jail [-qv] [-f file] -[rR] ['*' | jail ...]
       jail [-dhilqv] [-J jid_file] [-u username] [-U username]
            [-n jailname] [-s securelevel]
            path hostname [ip[,...]] command ...`;

/** Parameters jail(8) knows that the emulator accepts (most are recorded and otherwise ignored). */
const KNOWN = /^(name|jid|path|persist|nopersist|vnet|novnet|host|nohost|host\.hostname|host\.domainname|host\.hostuuid|host\.hostid|ip4|noip4|ip6|noip6|ip4\.addr|ip6\.addr|ip4\.saddrsel|ip6\.saddrsel|securelevel|devfs_ruleset|children\.max|enforce_statfs|osrelease|osreldate|sysvmsg|sysvsem|sysvshm|allow\.[a-z_.]+|allow\.no[a-z_.]+|mount\.[a-z_.]+|exec\.[a-z_.]+|command|vnet\.interface|interface|ip_hostname|depend|stop\.timeout|cpuset\.id)$/;

/** Namespace setup of a new vnet: FreeBSD-like defaults on Linux (see docs/emulated-host.md). */
export const VNET_SYSCTLS = [
  'net.ipv4.ip_forward=0',
  'net.ipv6.conf.all.forwarding=0',
  'net.ipv6.conf.all.keep_addr_on_down=1',
  'net.ipv6.conf.default.keep_addr_on_down=1',
  'net.ipv6.conf.default.addr_gen_mode=1',
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.default.accept_ra=0',
  'net.ipv4.conf.all.promote_secondaries=1',
  'net.ipv4.conf.default.promote_secondaries=1',
];

export async function setupVnet(ns: string): Promise<void> {
  const r = await run(IP, ['netns', 'exec', ns, '/usr/sbin/sysctl', '-q', '-w', ...VNET_SYSCTLS]);
  if (r.code !== 0) throw new Error(`sysctl in ${ns}: ${r.stderr.trim()}`);
  await ipBatch(ns, ['link set dev lo mtu 16384']);
}

interface CreateParams {
  name?: string;
  vnet: boolean;
  persist: boolean;
  path: string;
  hostname: string;
  command: string[];
}

function parseParams(args: string[]): CreateParams {
  const p: CreateParams = { vnet: false, persist: false, path: '/', hostname: hostname(), command: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === 'command' || a.startsWith('command=')) {
      if (a.startsWith('command=')) p.command.push(a.slice(8));
      p.command.push(...args.slice(i + 1));
      break;
    }
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    const value = eq < 0 ? undefined : a.slice(eq + 1);
    if (!KNOWN.test(key)) throw new ToolError(`unknown parameter: ${key}`);
    switch (key) {
      case 'name':
        p.name = value ?? '';
        break;
      case 'persist':
        p.persist = value === undefined || value === 'true' || value === '1';
        break;
      case 'nopersist':
        p.persist = false;
        break;
      case 'vnet':
        if (value === undefined || value === 'new') p.vnet = true;
        else if (value === 'inherit') p.vnet = false;
        else throw new ToolError(`vnet: unknown value "${value}"`);
        break;
      case 'novnet':
        p.vnet = false;
        break;
      case 'path':
        p.path = value ?? '/';
        break;
      case 'host.hostname':
        p.hostname = value ?? '';
        break;
    }
  }
  return p;
}

async function create(ctx: EmuContext, p: CreateParams, io: ToolIo, opts: { quiet: boolean; printJid: boolean }): Promise<number> {
  if (p.path !== '/' && !p.path.startsWith('/')) throw new ToolError(`${p.name ?? ''}: path ${p.path}: not an absolute pathname`);
  return withLock(ctx, 'state', async () => {
    const state = readJails(ctx);
    const jid = state.lastJid + 1;
    const name = p.name ?? String(jid);
    if (name === '') throw new ToolError('"" : invalid jail name');
    if (name.includes('.')) throw new ToolError(`${name}: jail "${name.split('.')[0]}" not found`);
    if (/^\d+$/.test(name) && p.name !== undefined) throw new ToolError(`${name}: jail name cannot be numeric`);
    if (findJail(ctx, name, state)) throw new ToolError(`"${name}" already exists`);
    const ns = p.vnet ? `${ctx.config.jailNsPrefix}${jid}` : ctx.config.hostNs;
    const rec: JailRecord = { jid, name, vnet: p.vnet, ns, path: p.path, hostname: p.hostname, persist: p.persist };
    state.lastJid = jid;
    if (p.vnet) {
      const r = await run(IP, ['netns', 'add', ns]);
      if (r.code !== 0) throw new ToolError(`${name}: jail_set: ${r.stderr.trim()}`);
      await setupVnet(ns);
    }
    // Without persist and without a command the jail has nothing to keep it alive: FreeBSD
    // creates it and it goes away at once.
    const keep = p.persist || p.command.length > 0;
    if (keep) state.jails.push(rec);
    writeJails(ctx, state);
    if (!keep && p.vnet) await run(IP, ['netns', 'del', ns]);
    if (opts.printJid) io.out(`${jid}\n`);
    else if (!opts.quiet) io.out(`${name}: created\n`);
    if (p.command.length > 0) throw new ToolError(`${name}: command= is not supported by the emulated host; use jexec`);
    return 0;
  });
}

/** Removes a jail: kills its processes, returns foreign interfaces to their home vnet, destroys the rest. */
export async function removeJail(ctx: EmuContext, rec: JailRecord): Promise<void> {
  const pids = new Set(recordedProcs(ctx, rec.jid));
  if (rec.vnet) for (const pid of await netnsPids(rec.ns)) pids.add(pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (rec.vnet) {
    const homes = vnetNamespaces(ctx);
    const links = await readLinks(rec.ns);
    const lines: string[] = [];
    const freed: { home: number; cloner: Cloner; unit: number }[] = [];
    const targets = new Map<string, Set<string>>();
    for (const l of links) {
      if (l.ifname === 'lo') continue;
      const m = metaOf(l);
      if (m.home === rec.jid) {
        lines.push(`link del dev ${l.ifname}`);
        if ((m.kind === 'epair' || m.kind === 'bridge' || m.kind === 'vxlan') && m.unit !== undefined) freed.push({ home: m.home, cloner: m.kind, unit: m.unit });
        continue;
      }
      const targetNs = homes.get(m.home) ?? ctx.config.hostNs;
      if (!targets.has(targetNs)) targets.set(targetNs, new Set((await readLinks(targetNs)).map((x) => x.ifname)));
      const taken = targets.get(targetNs) as Set<string>;
      let name = l.ifname;
      // FreeBSD tolerates a duplicate name here; Linux does not, so a clash gets a suffix.
      for (let k = 0; taken.has(name); k++) name = `${l.ifname.slice(0, 11)}.r${k}`;
      taken.add(name);
      lines.push(`link set dev ${l.ifname} netns ${targetNs}${name !== l.ifname ? ` name ${name}` : ''}`);
    }
    await runForce(rec.ns, lines);
    freeUnits(ctx, freed);
    await run(IP, ['netns', 'del', rec.ns]);
    dropVnet(ctx, rec.jid);
    rmSync(statePath(ctx, `sysctl-jail-${rec.jid}.json`), { force: true });
  }
  forgetJailProcs(ctx, rec.jid);
}

async function runForce(ns: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await run(IP, ['-n', ns, '-force', '-batch', '-'], `${lines.join('\n')}\n`);
}

export async function jailMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  const { opts, rest } = getopt('jail', argv, 'cdf:hiJ:lmn:p:qrRs:u:U:v', USAGE);
  const has = (o: string) => opts.some((x) => x.opt === o);
  const quiet = has('q');
  const ops = ['c', 'm', 'r', 'R'].filter(has);
  if (ops.length === 0 || (has('c') && (has('r') || has('R')))) throw new UsageError(USAGE);
  if (has('c') || has('m')) {
    if (rest.length === 0) throw new UsageError(USAGE);
    const p = parseParams(rest);
    const n = opts.find((o) => o.opt === 'n');
    if (n?.arg !== undefined) p.name = n.arg;
    if (has('m')) {
      const rec = p.name !== undefined ? findJail(ctx, p.name) : undefined;
      if (!rec) throw new ToolError(`"${p.name ?? ''}" not found`);
      await withLock(ctx, 'state', async () => {
        const s = readJails(ctx);
        const r = s.jails.find((j) => j.jid === rec.jid);
        if (r) r.persist = p.persist || r.persist;
        writeJails(ctx, s);
      });
      if (!quiet) io.out(`${rec.name}: updated\n`);
      return 0;
    }
    return create(ctx, p, io, { quiet, printJid: has('i') });
  }
  // -r / -R: each named jail ('*' for all).
  if (rest.length === 0) throw new UsageError(USAGE);
  let status = 0;
  for (const arg of rest) {
    const targets = arg === '*' ? readJails(ctx).jails.map((j) => j.name) : [arg];
    for (const t of targets) {
      const removed = await withLock(ctx, 'state', async () => {
        const s = readJails(ctx);
        const rec = findJail(ctx, t, s);
        if (!rec) return undefined;
        await removeJail(ctx, rec);
        s.jails = s.jails.filter((j) => j.jid !== rec.jid);
        writeJails(ctx, s);
        return rec;
      });
      if (!removed) {
        io.err(`jail: "${t}" not found\n`);
        status = 1;
        continue;
      }
      // Interfaces came back to the host: let the emulated pf see them.
      if (removed.vnet) await notifyPf(ctx);
      if (!quiet) io.out(`${removed.name}: removed\n`);
    }
  }
  return status;
}
