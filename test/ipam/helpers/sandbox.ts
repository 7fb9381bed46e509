import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { runPlugin as runPluginExecutable, type PluginRun } from '../../helpers/plugin-process';

/**
 * One temp directory per test file holding copies of the built executables (so that a build
 * running at the same time cannot pull them away), jailnetd's socket, state and log, and the
 * bookkeeping to kill every daemon started in it, by PID, and remove the directory: at
 * cleanup(), and on process exit if a test never got there.
 */

const ROOT = resolve(__dirname, '../../..');
const DIST = join(ROOT, 'dist');
const EXECUTABLES = ['bin/jailnetd', 'cni/jailnet-ipam', 'cni/host-local'];

export interface DaemonProcess {
  pid: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export interface ApiReply<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
}

export type { PluginRun };

const live = new Set<Sandbox>();
process.on('exit', () => {
  for (const s of live) s.cleanupSync();
});

export class Sandbox {
  readonly dir: string;
  readonly jailnetd: string;
  readonly plugin: string;
  /** The same plugin installed under the reference name. */
  readonly hostLocal: string;
  socket: string;
  stateDir: string;
  readonly logFile: string;
  readonly daemonConfig: string;
  private readonly pids = new Set<number>();

  constructor(name: string) {
    for (const f of EXECUTABLES) {
      if (!existsSync(join(DIST, f))) throw new Error(`${join(DIST, f)} is missing: run \`npm run build\` first`);
    }
    this.dir = mkdtempSync(join(tmpdir(), `jailnet-ipam-${name}-`));
    for (const f of EXECUTABLES) {
      mkdirSync(dirname(join(this.dir, 'dist', f)), { recursive: true });
      copyFileSync(join(DIST, f), join(this.dir, 'dist', f));
      chmodSync(join(this.dir, 'dist', f), 0o755);
    }
    this.jailnetd = join(this.dir, 'dist/bin/jailnetd');
    this.plugin = join(this.dir, 'dist/cni/jailnet-ipam');
    this.hostLocal = join(this.dir, 'dist/cni/host-local');
    this.socket = join(this.dir, 'run/jailnetd.sock');
    this.stateDir = join(this.dir, 'state');
    this.logFile = join(this.dir, 'jailnetd.log');
    // No emulated FreeBSD host here: the daemons skip comparing ranges with the host's (Linux)
    // addresses and routes. The autostarted ones read it from this file.
    this.daemonConfig = join(this.dir, 'jailnetd.json');
    writeFileSync(this.daemonConfig, JSON.stringify({ hostCheck: false }));
    live.add(this);
  }

  daemonArgs(extra: string[] = []): string[] {
    return ['--socket', this.socket, '--state-dir', this.stateDir, '--reclaim-interval', '0', '--no-host-check', ...extra];
  }

  /** Starts jailnetd and waits until it answers /v1/health. */
  startDaemon(extra: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<DaemonProcess> {
    return this.startDaemonWith(this.daemonArgs(extra), env);
  }

  /**
   * Where jailnetd looks for FreeBSD's tools when the caller gives no emulated host: an empty
   * directory. GC and teardown look for pf anchors and host interfaces; without this they would
   * run this machine's own /sbin/ifconfig. A tool that does not exist means nothing to clean.
   */
  get noHostTools(): string {
    return join(this.dir, 'no-freebsd-tools');
  }

  private withToolRoot(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return env.JAILNET_FREEBSD_ROOT ? env : { ...env, JAILNET_FREEBSD_ROOT: this.noHostTools };
  }

  /** Starts jailnetd with exactly these arguments; this.socket must be where it will listen. */
  async startDaemonWith(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<DaemonProcess> {
    const child = spawn(this.jailnetd, args, { env: { ...this.withToolRoot(env), JAILNET_LOG_FILE: this.logFile }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const pid = child.pid as number;
    this.pids.add(pid);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`jailnetd exited with ${child.exitCode}: ${stderr}`);
      try {
        const r = await this.api('GET', '/v1/health');
        if (r.status === 200) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`jailnetd did not answer within 10 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return { pid, child, exited };
  }

  /** SIGTERM and wait (a clean stop). */
  async stopDaemon(d: DaemonProcess): Promise<void> {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGTERM');
    await d.exited;
    this.pids.delete(d.pid);
  }

  async killDaemon(d: DaemonProcess): Promise<void> {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await d.exited;
    this.pids.delete(d.pid);
  }

  /**
   * The PID in the state directory's lock when it is this sandbox's jailnetd (a daemon the
   * plugin started is not our child); a stale lock naming some other process gives undefined.
   */
  lockHolder(): number | undefined {
    try {
      const pid = Number.parseInt(readFileSync(join(this.stateDir, 'lock'), 'utf8'), 10);
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes(this.jailnetd) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remembers a PID to kill at cleanup (a daemon started by the plugin). */
  adopt(pid: number): void {
    this.pids.add(pid);
  }

  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, socket = this.socket): Promise<ApiReply<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolvePromise, reject) => {
      const req = request({ socketPath: socket, path, method, agent: false, headers: payload === undefined ? {} : { 'content-length': Buffer.byteLength(payload) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* metrics are text */
          }
          resolvePromise({ status: res.statusCode ?? 0, body: parsed as T, text });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The `ipam` object of a network configuration using this sandbox's daemon. */
  ipam(ranges: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      type: 'jailnet-ipam',
      ranges,
      socket: this.socket,
      daemon: { path: this.jailnetd, stateDir: this.stateDir, logFile: this.logFile, config: this.daemonConfig },
      ...extra,
    };
  }

  runPlugin(env: Record<string, string>, stdin: unknown, plugin = this.plugin): Promise<PluginRun> {
    // A daemon the plugin starts inherits this environment (see noHostTools).
    return runPluginExecutable(plugin, { CNI_PATH: dirname(this.plugin), JAILNET_FREEBSD_ROOT: this.noHostTools, ...env }, typeof stdin === 'string' ? stdin : (stdin as object));
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  cleanupSync(): void {
    const holder = this.lockHolder();
    if (holder) this.pids.add(holder);
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.pids.clear();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  async cleanup(): Promise<void> {
    this.cleanupSync();
  }
}

/** CNI environment for one command. */
export function cniEnv(command: string, containerId = 'c1', ifname = 'eth0', extra: Record<string, string> = {}): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: containerId, CNI_IFNAME: ifname, ...extra };
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
