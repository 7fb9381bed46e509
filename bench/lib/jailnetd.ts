import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { daemonEnv } from '../../src/ipam/autostart';
import { runTempDir } from './run-dirs';

/** A jailnetd (the built dist/bin/jailnetd) in a temp dir, for the benches. */

export const JAILNETD = join(process.cwd(), 'dist/bin/jailnetd');
const NSENTER = '/usr/bin/nsenter';
const GC_ON_SIGNAL = join(__dirname, 'gc-on-signal.cjs');

export interface BenchDaemonOptions {
  /** Run inside this network namespace (an emulated host's hostNs), as jailnetd runs on the host. */
  netns?: string;
  /** The environment the daemon's is made from (by daemonEnv, unless BENCH_*NODE_OPTIONS say otherwise). */
  env?: NodeJS.ProcessEnv;
  /** Flags after --socket and --state-dir (default: the ipam benches' --no-host-check --log-level warn). */
  flags?: string[];
  /** A file descriptor for the daemon's stderr (default: the bench's). */
  stderr?: number;
  /**
   * Let fullGc() force a full garbage collection: the daemon's node is started with
   * --expose-gc and bench/lib/gc-on-signal.cjs preloaded (a SIGUSR2 handler), nothing else.
   */
  gcOnSignal?: boolean;
  /** More files the daemon's node preloads (--require), e.g. bench/lib/record-requests.cjs. */
  preload?: string[];
  /** Variables added to the daemon's environment after it is made (an experiment, e.g. MALLOC_ARENA_MAX). */
  extraEnv?: NodeJS.ProcessEnv;
}

/** What bench/lib/gc-on-signal.cjs writes after a collection. */
export interface GcReport {
  at: number;
  memoryUsage: NodeJS.MemoryUsage;
  heapSpaces: { space_name: string; space_size: number; space_used_size: number; physical_space_size: number }[];
}

export class BenchDaemon {
  readonly dir = runTempDir('jailnet-bench-d-');
  readonly socket = join(this.dir, 'jailnetd.sock');
  readonly stateDir = join(this.dir, 'state');
  child: ChildProcess | undefined;

  constructor(private readonly options: BenchDaemonOptions = {}) {
    if (!existsSync(JAILNETD)) throw new Error('dist/bin/jailnetd is missing: run `npm run build` first');
    process.on('exit', () => this.destroy());
  }

  /** Starts the daemon; resolves with the milliseconds until it answered /v1/health. */
  async start(extra: string[] = []): Promise<number> {
    const t0 = process.hrtime.bigint();
    // Started as the rc.d script and the IPAM plugin start it (NODE_OPTIONS, src/ipam/autostart.ts).
    // BENCH_DEFAULT_NODE_OPTIONS=1: Node's defaults; BENCH_NODE_OPTIONS: these options instead.
    const base = this.options.env ?? process.env;
    const env = process.env.BENCH_NODE_OPTIONS ? { ...base, NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : process.env.BENCH_DEFAULT_NODE_OPTIONS ? { ...base } : daemonEnv(base);
    if (this.options.gcOnSignal) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --expose-gc --require ${GC_ON_SIGNAL}`.trim();
    for (const file of this.options.preload ?? []) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require ${file}`.trim();
    Object.assign(env, this.options.extraEnv);
    const argv = [JAILNETD, '--socket', this.socket, '--state-dir', this.stateDir, ...(this.options.flags ?? ['--reclaim-interval', '0', '--no-host-check', '--log-level', 'warn']), ...extra];
    // nsenter execs the daemon (and env, its #! line, execs node): one process, child.pid.
    if (this.options.netns) argv.unshift(NSENTER, `--net=/run/netns/${this.options.netns}`);
    // cwd: where gc-on-signal.cjs says it has collected.
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', this.options.stderr ?? 'inherit'], env, cwd: this.dir });
    this.child = child;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`jailnetd exited with ${child.exitCode}`);
      try {
        if ((await call(this.socket, 'GET', '/v1/health')).status === 200) break;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('jailnetd is not running');
    return pid;
  }

  /**
   * A full garbage collection in the daemon (gcOnSignal), done when this resolves; with what
   * gc-on-signal.cjs reports of the process's memory after it (process.memoryUsage() and V8's
   * heap spaces, bytes).
   */
  async fullGc(): Promise<GcReport> {
    if (!this.options.gcOnSignal) throw new Error('BenchDaemon: fullGc() needs gcOnSignal');
    const done = join(this.dir, 'gc-done');
    rmSync(done, { force: true });
    process.kill(this.pid, 'SIGUSR2');
    const deadline = Date.now() + 30_000;
    while (!existsSync(done)) {
      if (Date.now() > deadline) throw new Error('jailnetd did not collect within 30 s of SIGUSR2');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Written by a single writeFileSync: read once it exists, it may still be empty for a moment.
    for (;;) {
      const text = readFileSync(done, 'utf8');
      if (text.endsWith('\n')) return JSON.parse(text) as GcReport;
      if (Date.now() > deadline) throw new Error(`jailnetd's gc-done is not complete: ${text.slice(0, 200)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Resident memory of the daemon process (Linux /proc), in bytes. */
  rss(): number {
    const status = readFileSync(`/proc/${this.child?.pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  }

  destroy(): void {
    try {
      if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function call(socket: string, method: string, path: string, body?: unknown, agent?: Agent): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method, agent: agent ?? false, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * `clients` loops, each on its own keep-alive connection, allocating attachments `prefix<n>`
 * until `total` allocations are done; returns the latency of each (ms) and the wall time.
 */
export async function allocateConcurrently(socket: string, network: string, ranges: unknown, total: number, clients: number, prefix: string): Promise<{ latencies: number[]; wallMs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const n = next++;
        if (n >= total) return;
        const s = process.hrtime.bigint();
        const r = await call(socket, 'POST', '/v1/allocate', { network, containerID: `${prefix}${n}`, ifname: 'eth0', ranges }, agent);
        if (r.status !== 200) throw new Error(`allocate ${prefix}${n}: ${r.status} ${r.body}`);
        latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
    }),
  );
  agent.destroy();
  return { latencies, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 };
}

export function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** A metric of /v1/metrics; the sum of its samples when it has labels (NaN when it has none). */
export async function metric(socket: string, name: string): Promise<number> {
  const text = (await call(socket, 'GET', '/v1/metrics')).body;
  const samples = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
  return samples.length ? samples.reduce((a, b) => a + b, 0) : NaN;
}
