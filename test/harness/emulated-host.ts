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

export async function createEmulatedHost(options: EmulatedHostOptions = {}): Promise<EmulatedHost> {
  if (!existsSync(join(TOOLS_DIR, 'ifconfig.js'))) throw new Error(`${TOOLS_DIR}/ifconfig.js is missing: run \`npm run build\` first`);
  cleanupStaleHosts();
  installExitHook();
  const rand = randomBytes(3).toString('hex');
  const prefix = `${NS_PREFIX}${process.pid}-${rand}-`;
  const hostNs = `${prefix}h`;
  const worldNs = `${prefix}w`;
  const jailNsPrefix = `${prefix}j`;
  const dir = mkdtempSync(join(tmpdir(), `jnemu-${process.pid}-`));
  const state: Live = { prefix, dir, children: new Set() };
  live.add(state);

  const em0Cidr = options.em0Cidr ?? '198.51.100.2/24';
  const worldAddress = options.worldAddress ?? '198.51.100.1';
  const em0Cidr6 = options.em0Cidr6 ?? '2001:db8:e0::2/64';
  const worldAddress6 = options.worldAddress6 ?? '2001:db8:e0::1';
  const worldPrefix = em0Cidr.split('/')[1] as string;
  const worldPrefix6 = em0Cidr6.split('/')[1] as string;

  try {
    // Host dir: emu.json and the wrappers at the FreeBSD paths.
    const config: EmuConfig = { hostNs, jailNsPrefix, worldNs, node: process.execPath, toolsDir: TOOLS_DIR };
    writeFileSync(join(dir, 'emu.json'), JSON.stringify(config, null, 2));
    mkdirSync(join(dir, 'state'), { recursive: true });
    for (const [tool, path] of Object.entries(TOOL_PATHS)) {
      const file = join(dir, path);
      mkdirSync(join(file, '..'), { recursive: true });
      // Every tool runs in the host's namespace, whoever starts it (a test in the machine's
      // namespace, jailnetd inside the emulated host): the tools' locks are abstract unix
      // sockets, which are per network namespace (emulator/src/context.ts withLock).
      const intoCgroup = options.toolCgroupProcs ? `echo $$ > '${options.toolCgroupProcs}' || exit 70\n` : '';
      writeFileSync(file, `#!/bin/sh\n${intoCgroup}JAILNET_EMU_DIR='${dir}'\nexport JAILNET_EMU_DIR\nexec ${NSENTER} --net=${RUN_DIR}/${hostNs} '${process.execPath}' '${join(TOOLS_DIR, `${tool}.js`)}' "$@"\n`);
      chmodSync(file, 0o755);
    }

    // Namespaces: host, world, and em0 between them.
    for (const ns of [hostNs, worldNs]) {
      ipSync(['netns', 'add', ns]);
      execFileSync(IP, ['netns', 'exec', ns, SYSCTL, '-q', '-w', ...VNET_SYSCTLS], { stdio: 'ignore' });
    }
    const hexes = randomBytes(4).toString('hex').match(/../g) as string[];
    const em0Mac = `02:${hexes.join(':')}:e0`;
    const wanMac = `02:${hexes.join(':')}:01`;
    ipSync(['-n', hostNs, '-batch', '-'], [
      'link set dev lo mtu 16384',
      'link set dev lo up',
      `link add em0 address ${em0Mac} type veth peer name wan0 netns ${worldNs} address ${wanMac}`,
      'link set dev em0 alias "jn1;k=ether;h=0;n=0"',
      'link set dev em0 up',
      `addr add ${em0Cidr} broadcast + dev em0`,
      `addr add ${em0Cidr6} dev em0 nodad`,
      `addr add ${linkLocal(em0Mac)}/64 dev em0 nodad`,
      `route add default via ${worldAddress}`,
      `route add default via ${worldAddress6}`,
    ].join('\n') + '\n');
    ipSync(['-n', worldNs, '-batch', '-'], [
      'link set dev lo up',
      'link set dev wan0 up',
      `addr add ${worldAddress}/${worldPrefix} broadcast + dev wan0`,
      `addr add ${worldAddress6}/${worldPrefix6} dev wan0 nodad`,
      `addr add ${linkLocal(wanMac)}/64 dev wan0 nodad`,
    ].join('\n') + '\n');
  } catch (err) {
    removeSync(prefix, dir, []);
    live.delete(state);
    throw err;
  }

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
  const track = (child: ChildProcess) => {
    state.children.add(child);
    child.on('exit', () => state.children.delete(child));
    return child;
  };
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
    em0Address: em0Cidr.split('/')[0] as string,
    em0Address6: em0Cidr6.split('/')[0] as string,
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
    async destroy() {
      if (!live.has(state)) return;
      const waits = [...state.children].map(
        (c) => new Promise<void>((done) => (c.exitCode !== null || c.signalCode !== null ? done() : c.once('exit', () => done()))),
      );
      removeSync(prefix, dir, state.children);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      live.delete(state);
    },
  };
  return host;
}

/** True when the process can create network namespaces (root). Suites skip themselves otherwise. */
export const canRunEmulator: boolean = typeof process.getuid === 'function' && process.getuid() === 0 && existsSync(IP) && existsSync(NSENTER);
