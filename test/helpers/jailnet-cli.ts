import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import type { TestDaemon } from './jailnetd';
import { DIST, PLUGIN_DIR } from './plugin-process';

/** The `jailnet` command run against an emulated host, with its own conf and cache dirs. */
export interface Cli {
  dir: string;
  env: NodeJS.ProcessEnv;
  run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  ok(args: string[], stdin?: string): Promise<string>;
  cleanup(): void;
}

export const JAILNET = join(DIST, 'bin/jailnet');

/**
 * The environment `jailnet` runs with against an emulated host and a daemon's socket: network
 * files and result cache under `dir` (or the dirs given), the built plugins, the host's run
 * directory. Shared by the suites (jailnetCli) and the benches.
 */
export function jailnetCliEnv(host: Pick<EmulatedHost, 'env' | 'dir'>, socket: string, dir: string, dirs: { confDir?: string; cacheDir?: string } = {}): NodeJS.ProcessEnv {
  return {
    ...host.env,
    JAILNET_CONF_DIR: dirs.confDir ?? join(dir, 'networks'),
    JAILNET_CACHE_DIR: dirs.cacheDir ?? join(dir, 'cache'),
    JAILNET_CNI_PATH: PLUGIN_DIR,
    JAILNETD_SOCKET: socket,
    JAILNET_RUN_DIR: join(host.dir, 'run'),
    JAILNET_COMMAND_TIMEOUT: '300',
  };
}

export function jailnetCli(host: EmulatedHost, daemon: TestDaemon): Cli {
  const dir = mkdtempSync(join(tmpdir(), 'jailnet-cli-'));
  const env: NodeJS.ProcessEnv = { ...jailnetCliEnv(host, daemon.socket, dir), JAILNET_LOG_FILE: join(dir, 'jailnet.log') };
  const run = (args: string[], stdin = '') =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(JAILNET, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(stdin);
    });
  return {
    dir,
    env,
    run,
    ok: async (args, stdin) => {
      const r = await run(args, stdin);
      if (r.code !== 0) throw new Error(`jailnet ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
      return r.stdout;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
