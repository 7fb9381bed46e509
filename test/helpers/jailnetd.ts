import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LeaseView } from '../../src/ipam/api-types';
import { DIST } from './plugin-process';

/**
 * A jailnetd for one test file: its own socket and state dir in a temp dir, started on the
 * given environment (an emulated host's env, so that its jail check runs the emulated jls),
 * stopped and removed by stop(). With `netns` (an emulated host's `hostNs`) it runs inside that
 * namespace, as it runs on the FreeBSD host itself: its userland proxy listens on the host's
 * addresses there. The socket is a path, so clients in any namespace reach it.
 */
export interface TestDaemon {
  dir: string;
  socket: string;
  stateDir: string;
  /** The `ipam` section of a network configuration using this daemon. */
  ipam(ranges: { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }[][]): Record<string, unknown>;
  leases(network?: string): Promise<LeaseView[]>;
  get(path: string): Promise<{ status: number; body: string }>;
  post(path: string, body: unknown): Promise<{ status: number; body: string }>;
  /** The daemon's log so far. */
  log(): string;
  /**
   * SIGKILL, then a new daemon on the same socket and state (a crash and restart); `whileDown`
   * runs between the two.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface JailnetdOptions {
  /** Listen here instead of in the daemon's temp dir (e.g. the default socket of a test's run directory). */
  socket?: string;
  /** Run inside this network namespace (an emulated host's hostNs). */
  netns?: string;
  /** More flags, e.g. ['--reclaim-interval', '0.2']. */
  args?: string[];
}

export const JAILNETD = join(DIST, 'bin/jailnetd');
const NSENTER = '/usr/bin/nsenter';

export async function startJailnetd(env: NodeJS.ProcessEnv = process.env, opts: JailnetdOptions = {}): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'jailnetd-test-'));
  const socket = opts.socket ?? join(dir, 'jailnetd.sock');
  const stateDir = join(dir, 'state');
  const logFile = join(dir, 'jailnetd.log');
  const argv = [JAILNETD, '--socket', socket, '--state-dir', stateDir, '--log-file', logFile, ...(opts.args ?? [])];
  let child: ChildProcess;
  const start = async () => {
    child = opts.netns ? spawn(NSENTER, [`--net=/run/netns/${opts.netns}`, ...argv], { env, stdio: 'ignore' }) : spawn(JAILNETD, argv.slice(1), { env, stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await answers())) {
      if (child.exitCode !== null) throw new Error(`jailnetd exited with ${child.exitCode}: ${readLog()}`);
      if (Date.now() > deadline) throw new Error('jailnetd did not answer within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const call = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ socketPath: socket, path, method, headers: payload === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  const get = (path: string) => call('GET', path);
  const answers = () => (existsSync(socket) ? get('/v1/health').then((r) => r.status === 200, () => false) : Promise.resolve(false));
  const stopChild = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    }
  };
  await start();
  return {
    dir,
    socket,
    stateDir,
    ipam: (ranges) => ({ type: 'jailnet-ipam', ranges, socket, autostart: false }),
    leases: async (network) => {
      const r = await get(`/v1/leases${network ? `?network=${encodeURIComponent(network)}` : ''}`);
      if (r.status !== 200) throw new Error(`GET /v1/leases: ${r.status} ${r.body}`);
      return (JSON.parse(r.body) as { leases: LeaseView[] }).leases;
    },
    get,
    post: (path, body) => call('POST', path, body),
    log: readLog,
    restart: async (whileDown) => {
      await stopChild('SIGKILL');
      await whileDown?.();
      await start();
    },
    stop: async () => {
      await stopChild('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
