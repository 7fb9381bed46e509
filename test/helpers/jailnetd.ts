import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LeaseView } from '../../src/ipam/api-types';
import { DIST } from './plugin-process';

/**
 * A jailnetd for one test file: its own socket and state dir in a temp dir, started on the
 * given environment (an emulated host's env, so that its jail check runs the emulated jls),
 * stopped and removed by stop().
 */
export interface TestDaemon {
  dir: string;
  socket: string;
  stateDir: string;
  /** The `ipam` section of a network configuration using this daemon. */
  ipam(ranges: { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }[][]): Record<string, unknown>;
  leases(network?: string): Promise<LeaseView[]>;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export const JAILNETD = join(DIST, 'bin/jailnetd');

export async function startJailnetd(env: NodeJS.ProcessEnv = process.env): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'jailnetd-test-'));
  const socket = join(dir, 'jailnetd.sock');
  const stateDir = join(dir, 'state');
  const child: ChildProcess = spawn(JAILNETD, ['--socket', socket, '--state-dir', stateDir, '--log-file', join(dir, 'jailnetd.log')], { env, stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`jailnetd exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('jailnetd did not create its socket within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
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
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
