/**
 * Test harness for the emulated FreeBSD host (docs/emulated-host.md).
 *
 *   const host = await createEmulatedHost();
 *   await host.run('ifconfig', ['epair', 'create']);       // -> { code, stdout, stderr }
 *   await host.createJail('j1');                           // jail -c name=j1 persist vnet
 *   await host.jexec('j1', ['/usr/bin/ping', '-c1', '10.0.0.1']);
 *   const srv = await host.startWorldServer({ proto: 'tcp', port: 8080 });
 *   await host.destroy();
 *
 * Everything lives in network namespaces the harness creates (names `jne-<pid>-<random>-...`):
 * the emulated host (`hostNs`), the outside world (`worldNs`, reached through the host's `em0`)
 * and one namespace per vnet jail. Nothing touches the machine's own interfaces, routes or
 * firewall. Hosts are removed by destroy(), on process exit, and, for runs that died, by
 * cleanupStaleHosts() (called by every createEmulatedHost()).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EmuConfig, Fault, TraceEntry } from '../../emulator/src/context';
import { VNET_SYSCTLS } from '../../emulator/src/jail';
import { TOOL_PATHS, type Tool } from '../../src/freebsd/tools';

export type { Fault, TraceEntry };

const IP = '/usr/sbin/ip';
const SYSCTL = '/usr/sbin/sysctl';
const NSENTER = '/usr/bin/nsenter';
const ROOT = resolve(__dirname, '..', '..');
const TOOLS_DIR = join(ROOT, 'dist', 'emulator');
const ECHO_SERVER = join(__dirname, 'echo-server.cjs');
const NET_CLIENT = join(__dirname, 'net-client.cjs');
/** Namespace and temp-dir prefix; the creator's pid follows, so leftovers of dead runs are found. */
export const NS_PREFIX = 'jne-';
const RUN_DIR = '/run/netns';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ServerHandle {
  port: number;
  proto: 'tcp' | 'udp';
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The answer of echo-server.cjs: the address and port it saw the client come from. */
export interface EchoReply {
  proto: 'tcp' | 'udp';
  peer: string;
  peerPort: number;
  local: string;
  localPort: number;
  data: string;
}

export interface IfSnapshot {
  name: string;
  kind: string;
  up: boolean;
  mtu: number;
  master?: string;
  /** FreeBSD metadata carried in the ifalias (groups, description, unit...). */
  meta?: string;
  addresses: string[];
}

export interface HostSnapshot {
  host: IfSnapshot[];
  jails: Record<string, IfSnapshot[]>;
  jailList: { jid: number; name: string; vnet: boolean }[];
  hostRoutes: string[];
}

/**
 * How a request failed, so that a negative check says which failure it expects: `refused` (RST to
 * the SYN, or ICMP port unreachable for UDP), `reset` (an established connection reset),
 * `timeout` (no answer at all: dropped), `unreachable` (no route, host or network unreachable).
 */
export type FailureKind = 'refused' | 'reset' | 'timeout' | 'unreachable' | 'other';

export type RequestResult = { ok: true; reply: EchoReply } | { ok: false; kind: FailureKind; code: number; error: string };

export function failureKind(exitCode: number, stderr: string): FailureKind {
  if (exitCode === 2 || /^timeout after/m.test(stderr)) return 'timeout';
  if (/ECONNREFUSED/.test(stderr)) return 'refused';
  if (/ECONNRESET|EPIPE/.test(stderr)) return 'reset';
  if (/EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL/.test(stderr)) return 'unreachable';
  return 'other';
}

export interface EmulatedHostOptions {
  /** em0 and the world side, IPv4 (default 198.51.100.2/24 and 198.51.100.1). */
  em0Cidr?: string;
  worldAddress?: string;
  /** IPv6 (default 2001:db8:e0::2/64 and 2001:db8:e0::1). */
  em0Cidr6?: string;
  worldAddress6?: string;
  /**
   * A control group's `cgroup.procs`: every emulated tool moves itself there before it starts
   * node, so a benchmark counts the CPU time of the emulated FreeBSD commands (and of their
   * helpers) apart from their callers' (bench/lib/cpu-groups.ts).
   */
  toolCgroupProcs?: string;
  /**
   * With toolCgroupProcs: a file each emulated tool appends "PPID NS" to, NS being the CPU time
   * (ns) its process had used when it moved into the group, read from /proc/self/schedstat
   * (sum_exec_runtime, counted from fork). That time (the forked child until exec, exec, the
   * wrapper's own start) was charged to the caller's group, though it is the command's: on
   * FreeBSD a command's process is the command's from fork on. The attach bench gives it back.
   */
  toolStartLog?: string;
}

export interface EmulatedHost {
  /** The host dir: set JAILNET_FREEBSD_ROOT to it (env does). */
  dir: string;
  /** process.env plus JAILNET_FREEBSD_ROOT and JAILNET_EMU_DIR for this host. */
  env: NodeJS.ProcessEnv;
  hostNs: string;
  worldNs: string;
  jailNsPrefix: string;
  em0Address: string;
  em0Address6: string;
  worldAddress: string;
  worldAddress6: string;
  /** Absolute path of an emulated tool's wrapper (`<dir>/sbin/ifconfig`...). */
  toolPath(tool: Tool): string;
  /** Runs an emulated tool; never throws on a non-zero exit. */
  run(tool: Tool, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Like run, but throws (with stderr) unless the exit status is 0. */
  runOk(tool: Tool, args: readonly string[], opts?: RunOptions): Promise<string>;
  /** `jail -c name=NAME persist [vnet]`. */
  createJail(name: string, opts?: { vnet?: boolean }): Promise<void>;
  /** `jail -r NAME`. */
  removeJail(name: string): Promise<void>;
  /** `jexec JAIL argv...` (the program runs in the jail's namespace). */
  jexec(jail: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-running program in a jail (through jexec); killed by destroy(). */
  spawnInJail(jail: string, argv: readonly string[]): ChildProcess;
  /** Runs a program in the world namespace. */
  worldExec(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-running program in the world namespace (a router, a DNS server); killed by destroy(). */
  spawnInWorld(argv: readonly string[]): ChildProcess;
  /** Runs a program in the host namespace directly (not through the emulated tools). */
  hostExec(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** An echo server in the world namespace; its answers name the peer address it saw. */
  startWorldServer(opts: { proto: 'tcp' | 'udp'; port: number }): Promise<ServerHandle>;
  /** The same server inside a jail. */
  startJailServer(jail: string, opts: { proto: 'tcp' | 'udp'; port: number }): Promise<ServerHandle>;
  /** The same server on the host itself (a program of the host that listens on a port). */
  startHostServer(opts: { proto: 'tcp' | 'udp'; port: number }): Promise<ServerHandle>;
  /** Connects from a jail, 'host' or 'world' to an echo server; the reply, or an error text. */
  request(from: string, opts: { proto: 'tcp' | 'udp'; address: string; port: number; message?: string; timeoutMs?: number }): Promise<RequestResult>;
  /** Every trace entry so far. */
  trace(): TraceEntry[];
  /** A mark for traceSince(): the number of entries so far. */
  traceMark(): number;
  traceSince(mark: number): TraceEntry[];
  setFaults(faults: Fault[]): void;
  clearFaults(): void;
  /** Interfaces of the host and of every vnet jail (for "exactly as before" comparisons). */
  interfaces(): Promise<Pick<HostSnapshot, 'host' | 'jails'>>;
  /** interfaces() plus the jail list and the host's routes. */
  snapshot(): Promise<HostSnapshot>;
  destroy(): Promise<void>;
}

// ---- process bookkeeping ------------------------------------------------------------------

interface Live {
  prefix: string;
  dir: string;
  children: Set<ChildProcess>;
}
const live = new Set<Live>();
let exitHookInstalled = false;

function namespacesWithPrefix(prefix: string): string[] {
  try {
    return readdirSync(RUN_DIR).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

function killNamespacePidsSync(ns: string): void {
  try {
    const pids = execFileSync(IP, ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } catch {
    /* namespace gone */
  }
}

function removeSync(prefix: string, dir: string, children: Iterable<ChildProcess>): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const names = namespacesWithPrefix(prefix);
  for (const ns of names) killNamespacePidsSync(ns);
  for (const ns of names) {
    try {
      execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const l of live) removeSync(l.prefix, l.dir, l.children);
    live.clear();
  });
}

function trackChild(state: Live, child: ChildProcess): ChildProcess {
  state.children.add(child);
  child.on('exit', () => state.children.delete(child));
  return child;
}

/** Kills what `state` started and removes its namespaces and dir; waits (up to 2 s) for the children to exit. */
async function destroyLive(state: Live): Promise<void> {
  if (!live.has(state)) return;
  const waits = [...state.children].map((c) => new Promise<void>((done) => (c.exitCode !== null || c.signalCode !== null ? done() : c.once('exit', () => done()))));
  removeSync(state.prefix, state.dir, state.children);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
  live.delete(state);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes namespaces and host dirs left by harness runs whose creating process is gone
 * (names `jne-<pid>-...`). Returns the namespaces removed.
 */
export function cleanupStaleHosts(): string[] {
  const removed: string[] = [];
  const deadPrefixes = new Set<string>();
  for (const ns of namespacesWithPrefix(NS_PREFIX)) {
    const m = /^jne-(\d+)-/.exec(ns);
    if (m && !pidAlive(Number(m[1]))) deadPrefixes.add(`jne-${m[1]}-`);
  }
  for (const prefix of deadPrefixes) {
    const names = namespacesWithPrefix(prefix);
    removeSync(prefix, join(tmpdir(), '__none__'), []);
    removed.push(...names);
  }
  for (const d of readdirSync(tmpdir())) {
    const m = /^jnemu-(\d+)-/.exec(d);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
  return removed;
}

// ---- helpers ------------------------------------------------------------------------------

function runProcess(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args as string[], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

function ipSync(args: string[], input?: string): void {
  execFileSync(IP, args, { input: input ?? '', stdio: ['pipe', 'ignore', 'pipe'] });
}

function linkLocal(mac: string): string {
  const b = mac.split(':').map((x) => Number.parseInt(x, 16)) as number[];
  const e = [(b[0] as number) ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]] as number[];
  const g: string[] = [];
  for (let i = 0; i < 8; i += 2) g.push((((e[i] as number) << 8) | (e[i + 1] as number)).toString(16));
  return `fe80::${g.join(':')}`;
}

function waitReady(child: ChildProcess, what: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolveReady, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${err}`)), timeoutMs);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(Number(m[1]));
      }
    });
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${err}`));
    });
  });
}

function snapLinks(ns: string): IfSnapshot[] {
  const out = execFileSync(IP, ['-n', ns, '-d', '-j', 'addr', 'show'], { encoding: 'utf8' });
  const links = JSON.parse(out || '[]') as {
    ifname: string;
    flags: string[];
    mtu: number;
    master?: string;
    ifalias?: string;
    linkinfo?: { info_kind?: string };
    addr_info?: { family: string; local: string; prefixlen: number }[];
  }[];
  return links
    .map((l) => {
      const s: IfSnapshot = {
        name: l.ifname === 'lo' ? 'lo0' : l.ifname,
        kind: l.linkinfo?.info_kind ?? (l.ifname === 'lo' ? 'loopback' : 'ether'),
        up: l.flags.includes('UP'),
        mtu: l.mtu,
        addresses: (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort(),
      };
      if (l.master) s.master = l.master;
      if (l.ifalias) s.meta = l.ifalias;
      return s;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

// ---- the host ----------------------------------------------------------------------------

/** The world namespace a host's em0 reaches: its addresses and prefix lengths. */
interface World {
  ns: string;
  address: string;
  address6: string;
  prefix: string;
  prefix6: string;
}

function randomMacs(): { em0: string; peer: string } {
  const hexes = randomBytes(4).toString('hex').match(/../g) as string[];
  return { em0: `02:${hexes.join(':')}:e0`, peer: `02:${hexes.join(':')}:01` };
}

function addNamespace(ns: string): void {
  ipSync(['netns', 'add', ns]);
  execFileSync(IP, ['netns', 'exec', ns, SYSCTL, '-q', '-w', ...VNET_SYSCTLS], { stdio: 'ignore' });
}

/**
 * The host namespace with its em0, whose other end (`peerName`, MAC `peerMac`) lands in the
 * world namespace: as the world's wan0 for a single host, as a port of the underlay bridge for
 * a cluster. Writes the host dir's emu.json and tool wrappers.
 */
function buildHost(o: { dir: string; hostNs: string; jailNsPrefix: string; world: World; em0Cidr: string; em0Cidr6: string; peerName: string; macs: { em0: string; peer: string }; toolCgroupProcs?: string; toolStartLog?: string }): void {
  const config: EmuConfig = { hostNs: o.hostNs, jailNsPrefix: o.jailNsPrefix, worldNs: o.world.ns, node: process.execPath, toolsDir: TOOLS_DIR };
  writeFileSync(join(o.dir, 'emu.json'), JSON.stringify(config, null, 2));
  mkdirSync(join(o.dir, 'state'), { recursive: true });
  for (const [tool, path] of Object.entries(TOOL_PATHS)) {
    const file = join(o.dir, path);
    mkdirSync(join(file, '..'), { recursive: true });
    // Every tool runs in the host's namespace, whoever starts it (a test in the machine's
    // namespace, jailnetd inside the emulated host): the tools' locks are abstract unix
    // sockets, which are per network namespace (emulator/src/context.ts withLock).
    // The attach bench's CPU groups: the tool moves itself into the group before it runs.
    const startTime = o.toolCgroupProcs && o.toolStartLog ? 'read -r ran _ < /proc/self/schedstat\n' : '';
    const logStart = o.toolCgroupProcs && o.toolStartLog ? `echo "$PPID $ran" >> '${o.toolStartLog}'\n` : '';
    const intoCgroup = o.toolCgroupProcs ? `${startTime}echo $$ > '${o.toolCgroupProcs}' || exit 70\n${logStart}` : '';
    writeFileSync(file, `#!/bin/sh\n${intoCgroup}JAILNET_EMU_DIR='${o.dir}'\nexport JAILNET_EMU_DIR\nexec ${NSENTER} --net=${RUN_DIR}/${o.hostNs} '${process.execPath}' '${join(TOOLS_DIR, `${tool}.js`)}' "$@"\n`);
    chmodSync(file, 0o755);
  }
  addNamespace(o.hostNs);
  ipSync(['-n', o.hostNs, '-batch', '-'], [
    'link set dev lo mtu 16384',
    'link set dev lo up',
    `link add em0 address ${o.macs.em0} type veth peer name ${o.peerName} netns ${o.world.ns} address ${o.macs.peer}`,
    'link set dev em0 alias "jn1;k=ether;h=0;n=0"',
    'link set dev em0 up',
    `addr add ${o.em0Cidr} broadcast + dev em0`,
    `addr add ${o.em0Cidr6} dev em0 nodad`,
    `addr add ${linkLocal(o.macs.em0)}/64 dev em0 nodad`,
    `route add default via ${o.world.address}`,
    `route add default via ${o.world.address6}`,
  ].join('\n') + '\n');
}

/** The world's own addresses on `dev` (wan0), with the link-local address of `mac`. */
function worldAddressLines(world: World, dev: string, mac: string): string[] {
  return [
    'link set dev lo up',
    `link set dev ${dev} up`,
    `addr add ${world.address}/${world.prefix} broadcast + dev ${dev}`,
    `addr add ${world.address6}/${world.prefix6} dev ${dev} nodad`,
    `addr add ${linkLocal(mac)}/64 dev ${dev} nodad`,
  ];
}

export async function createEmulatedHost(options: EmulatedHostOptions = {}): Promise<EmulatedHost> {
  if (!existsSync(join(TOOLS_DIR, 'ifconfig.js'))) throw new Error(`${TOOLS_DIR}/ifconfig.js is missing: run \`npm run build\` first`);
  cleanupStaleHosts();
  installExitHook();
  const rand = randomBytes(3).toString('hex');
  const prefix = `${NS_PREFIX}${process.pid}-${rand}-`;
  const dir = mkdtempSync(join(tmpdir(), `jnemu-${process.pid}-`));
  const state: Live = { prefix, dir, children: new Set() };
  live.add(state);

  const em0Cidr = options.em0Cidr ?? '198.51.100.2/24';
  const em0Cidr6 = options.em0Cidr6 ?? '2001:db8:e0::2/64';
  const world: World = {
    ns: `${prefix}w`,
    address: options.worldAddress ?? '198.51.100.1',
    address6: options.worldAddress6 ?? '2001:db8:e0::1',
    prefix: em0Cidr.split('/')[1] as string,
    prefix6: em0Cidr6.split('/')[1] as string,
  };
  const hostNs = `${prefix}h`;
  const jailNsPrefix = `${prefix}j`;
  try {
    addNamespace(world.ns);
    const macs = randomMacs();
    buildHost({ dir, hostNs, jailNsPrefix, world, em0Cidr, em0Cidr6, peerName: 'wan0', macs, toolCgroupProcs: options.toolCgroupProcs, toolStartLog: options.toolStartLog });
    ipSync(['-n', world.ns, '-batch', '-'], worldAddressLines(world, 'wan0', macs.peer).join('\n') + '\n');
  } catch (err) {
    removeSync(prefix, dir, []);
    live.delete(state);
    throw err;
  }
  return hostObject({ dir, hostNs, jailNsPrefix, world, em0Cidr, em0Cidr6, state });
}

function hostObject(o: { dir: string; hostNs: string; jailNsPrefix: string; world: World; em0Cidr: string; em0Cidr6: string; state: Live }): EmulatedHost {
  const { dir, hostNs, jailNsPrefix, state } = o;
  const worldNs = o.world.ns;
  const worldAddress = o.world.address;
  const worldAddress6 = o.world.address6;
  // JAILNET_RUN_DIR: locks and what ADDs remember (src/link/known.ts) stay with this host, in
  // every process run with its env (plugins, jailnet, jailnetd), never in the machine's /var/run.
  const env: NodeJS.ProcessEnv = { ...process.env, JAILNET_FREEBSD_ROOT: dir, JAILNET_EMU_DIR: dir, JAILNET_RUN_DIR: join(dir, 'run') };
  const toolPath = (tool: Tool) => join(dir, TOOL_PATHS[tool]);
  const run = (tool: Tool, args: readonly string[], opts: RunOptions = {}) => runProcess(toolPath(tool), args, { ...opts, env: opts.env ?? env });
  const runOk = async (tool: Tool, args: readonly string[], opts: RunOptions = {}) => {
    const r = await run(tool, args, opts);
    if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const track = (child: ChildProcess) => trackChild(state, child);
  const startServer = async (argvPrefix: string[], what: string, opts: { proto: 'tcp' | 'udp'; port: number }): Promise<ServerHandle> => {
    const child = track(spawn(argvPrefix[0] as string, [...argvPrefix.slice(1), process.execPath, ECHO_SERVER, opts.proto, String(opts.port)], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const port = await waitReady(child, what);
    return {
      port,
      proto: opts.proto,
      process: child,
      stop: () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    };
  };
  const readTrace = (): TraceEntry[] => {
    const p = join(dir, 'trace.jsonl');
    if (!existsSync(p)) return [];
    return readFileSync(p, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as TraceEntry);
  };
  const jailsState = () => {
    const p = join(dir, 'state', 'jails.json');
    if (!existsSync(p)) return [] as { jid: number; name: string; vnet: boolean; ns: string }[];
    return (JSON.parse(readFileSync(p, 'utf8')) as { jails: { jid: number; name: string; vnet: boolean; ns: string }[] }).jails;
  };
  const interfaces = async () => {
    const jails: Record<string, IfSnapshot[]> = {};
    for (const j of jailsState()) if (j.vnet) jails[j.name] = snapLinks(j.ns);
    return { host: snapLinks(hostNs), jails };
  };

  const host: EmulatedHost = {
    dir,
    env,
    hostNs,
    worldNs,
    jailNsPrefix,
    em0Address: o.em0Cidr.split('/')[0] as string,
    em0Address6: o.em0Cidr6.split('/')[0] as string,
    worldAddress,
    worldAddress6,
    toolPath,
    run,
    runOk,
    async createJail(name, opts = {}) {
      await runOk('jail', ['-c', `name=${name}`, 'persist', ...(opts.vnet === false ? [] : ['vnet'])]);
    },
    async removeJail(name) {
      await runOk('jail', ['-r', name]);
    },
    jexec: (jail, argv, opts = {}) => run('jexec', [jail, ...argv], opts),
    spawnInJail: (jail, argv) => track(spawn(toolPath('jexec'), [jail, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })),
    worldExec: (argv, opts = {}) => runProcess(IP, ['netns', 'exec', worldNs, ...argv], { ...opts, env }),
    spawnInWorld: (argv) => track(spawn(IP, ['netns', 'exec', worldNs, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })),
    hostExec: (argv, opts = {}) => runProcess(IP, ['netns', 'exec', hostNs, ...argv], { ...opts, env }),
    startWorldServer: (opts) => startServer([IP, 'netns', 'exec', worldNs], `world ${opts.proto} server`, opts),
    startJailServer: (jail, opts) => startServer([toolPath('jexec'), jail], `${opts.proto} server in ${jail}`, opts),
    startHostServer: (opts) => startServer([IP, 'netns', 'exec', hostNs], `host ${opts.proto} server`, opts),
    async request(from, opts) {
      const args = [process.execPath, NET_CLIENT, opts.proto, opts.address, String(opts.port), opts.message ?? 'hello', String(opts.timeoutMs ?? 3000)];
      const r =
        from === 'world'
          ? await runProcess(IP, ['netns', 'exec', worldNs, ...args], { env })
          : from === 'host'
            ? await runProcess(IP, ['netns', 'exec', hostNs, ...args], { env })
            : await run('jexec', [from, ...args]);
      if (r.code === 0) return { ok: true, reply: JSON.parse(r.stdout) as EchoReply };
      const error = r.stderr.trim();
      return { ok: false, kind: failureKind(r.code, error), code: r.code, error };
    },
    trace: readTrace,
    traceMark: () => readTrace().length,
    traceSince: (mark) => readTrace().slice(mark),
    setFaults(faults) {
      writeFileSync(join(dir, 'faults.json'), JSON.stringify(faults));
    },
    clearFaults() {
      rmSync(join(dir, 'faults.json'), { force: true });
    },
    interfaces,
    async snapshot() {
      const routes = execFileSync(IP, ['-n', hostNs, 'route', 'show'], { encoding: 'utf8' }) + execFileSync(IP, ['-n', hostNs, '-6', 'route', 'show'], { encoding: 'utf8' });
      return {
        ...(await interfaces()),
        jailList: jailsState().map((j) => ({ jid: j.jid, name: j.name, vnet: j.vnet })),
        hostRoutes: routes.split('\n').filter(Boolean).sort(),
      };
    },
    destroy: () => destroyLive(state),
  };
  return host;
}

// ---- several hosts on one underlay ---------------------------------------------------------

export interface EmulatedClusterOptions {
  /** Number of emulated hosts (0 to 50). */
  hosts: number;
}

/** A machine on the underlay that is no emulated host (an etcd member, say): its own namespace. */
export interface UnderlayNode {
  name: string;
  ns: string;
  address: string;
  address6: string;
  /** Runs a program in the node's namespace. */
  exec(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-running program in the node's namespace; killed by the cluster's destroy(). */
  spawn(argv: readonly string[], opts?: { env?: NodeJS.ProcessEnv }): ChildProcess;
}

export interface EmulatedCluster {
  /** The emulated hosts: each exactly what createEmulatedHost gives, but their em0s share one segment. */
  hosts: EmulatedHost[];
  /** The shared world: the router of the segment (`wan0`, a bridge) and where world servers run. */
  worldNs: string;
  worldAddress: string;
  worldAddress6: string;
  /** The segment: 198.51.100.0/24 and 2001:db8:e0::/64. */
  underlayCidr: string;
  underlayCidr6: string;
  /** A machine on the segment in its own namespace, at the given last octet (default: from .101 up). */
  addNode(name: string, opts?: { octet?: number }): UnderlayNode;
  /** Unplugs (false) or plugs back (true) a host's em0 or a node from the segment, at the world's bridge port. */
  setLink(target: EmulatedHost | UnderlayNode, up: boolean): Promise<void>;
  /** Removes every host, node and the world, and kills what runs in them. */
  destroy(): Promise<void>;
}

/**
 * Several emulated hosts on one underlay (docs/emulated-host.md): the world namespace holds a
 * bridge, `wan0`, with the world's addresses (198.51.100.1, 2001:db8:e0::1: still every host's
 * default router and the place of world servers); host N's em0 is 198.51.100.(N+1) and
 * 2001:db8:e0::(N+1), a port of that bridge. Each host has its own host dir, tools' state,
 * namespaces and trace; destroying one host (a host that dies) leaves the others and the
 * world. Names: `jne-<pid>-<random>-<N>-h`, `-<N>-j<jid>` for the hosts, `-w` for the world,
 * `-n-<name>` for nodes.
 */
export async function createEmulatedCluster(options: EmulatedClusterOptions): Promise<EmulatedCluster> {
  if (!existsSync(join(TOOLS_DIR, 'ifconfig.js'))) throw new Error(`${TOOLS_DIR}/ifconfig.js is missing: run \`npm run build\` first`);
  if (!Number.isInteger(options.hosts) || options.hosts < 0 || options.hosts > 50) throw new Error(`hosts: ${options.hosts} (must be 0 to 50)`);
  cleanupStaleHosts();
  installExitHook();
  const prefix = `${NS_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}-`;
  const clusterState: Live = { prefix, dir: mkdtempSync(join(tmpdir(), `jnemu-${process.pid}-`)), children: new Set() };
  live.add(clusterState);
  const world: World = { ns: `${prefix}w`, address: '198.51.100.1', address6: '2001:db8:e0::1', prefix: '24', prefix6: '64' };
  const hostStates: Live[] = [];
  const hosts: EmulatedHost[] = [];
  const portOf = new Map<EmulatedHost | UnderlayNode, string>();
  const destroyAll = async () => {
    for (const h of hostStates) await destroyLive(h);
    await destroyLive(clusterState);
  };
  try {
    addNamespace(world.ns);
    const bridgeMac = randomMacs().peer;
    // A bridge that forwards at once and floods multicast (no snooping): vxlangroup works on it.
    ipSync(['-n', world.ns, '-batch', '-'], [
      `link add wan0 address ${bridgeMac} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
      'link set dev wan0 addrgenmode none',
      ...worldAddressLines(world, 'wan0', bridgeMac),
    ].join('\n') + '\n');
    for (let n = 1; n <= options.hosts; n++) {
      const hostPrefix = `${prefix}${n}-`;
      const state: Live = { prefix: hostPrefix, dir: mkdtempSync(join(tmpdir(), `jnemu-${process.pid}-`)), children: new Set() };
      live.add(state);
      hostStates.push(state);
      const em0Cidr = `198.51.100.${n + 1}/24`;
      const em0Cidr6 = `2001:db8:e0::${(n + 1).toString(16)}/64`;
      const port = `h${n}`;
      buildHost({ dir: state.dir, hostNs: `${hostPrefix}h`, jailNsPrefix: `${hostPrefix}j`, world, em0Cidr, em0Cidr6, peerName: port, macs: randomMacs() });
      ipSync(['-n', world.ns, '-batch', '-'], `link set dev ${port} master wan0\nlink set dev ${port} up\n`);
      const host = hostObject({ dir: state.dir, hostNs: `${hostPrefix}h`, jailNsPrefix: `${hostPrefix}j`, world, em0Cidr, em0Cidr6, state });
      hosts.push(host);
      portOf.set(host, port);
    }
  } catch (err) {
    await destroyAll();
    throw err;
  }
  let nextOctet = 101;
  return {
    hosts,
    worldNs: world.ns,
    worldAddress: world.address,
    worldAddress6: world.address6,
    underlayCidr: '198.51.100.0/24',
    underlayCidr6: '2001:db8:e0::/64',
    addNode(name, opts = {}) {
      if (!/^[a-z][a-z0-9]{0,8}$/.test(name)) throw new Error(`node name "${name}": 1 to 9 lower-case letters and digits, a letter first`);
      const octet = opts.octet ?? nextOctet++;
      const ns = `${prefix}n-${name}`;
      const port = `n-${name}`;
      const macs = randomMacs();
      addNamespace(ns);
      ipSync(['-n', ns, '-batch', '-'], [
        'link set dev lo up',
        `link add eth0 address ${macs.em0} type veth peer name ${port} netns ${world.ns} address ${macs.peer}`,
        'link set dev eth0 up',
        `addr add 198.51.100.${octet}/24 broadcast + dev eth0`,
        `addr add 2001:db8:e0::${octet.toString(16)}/64 dev eth0 nodad`,
        `route add default via ${world.address}`,
      ].join('\n') + '\n');
      ipSync(['-n', world.ns, '-batch', '-'], `link set dev ${port} master wan0\nlink set dev ${port} up\n`);
      const node: UnderlayNode = {
        name,
        ns,
        address: `198.51.100.${octet}`,
        address6: `2001:db8:e0::${octet.toString(16)}`,
        exec: (argv, o = {}) => runProcess(IP, ['netns', 'exec', ns, ...argv], o),
        spawn: (argv, o = {}) => trackChild(clusterState, spawn(IP, ['netns', 'exec', ns, ...argv], { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })),
      };
      portOf.set(node, port);
      return node;
    },
    async setLink(target, up) {
      const port = portOf.get(target);
      if (!port) throw new Error('setLink: not a host or node of this cluster');
      ipSync(['-n', world.ns, 'link', 'set', 'dev', port, up ? 'up' : 'down']);
    },
    destroy: destroyAll,
  };
}

/** True when the process can create network namespaces (root). Suites skip themselves otherwise. */
export const canRunEmulator: boolean = typeof process.getuid === 'function' && process.getuid() === 0 && existsSync(IP) && existsSync(NSENTER);
