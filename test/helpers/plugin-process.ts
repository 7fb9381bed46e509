import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Runs a built CNI executable as a runtime would: environment, stdin, and the three outputs. */

export const DIST = join(__dirname, '../../dist');
export const TEST_PLUGIN_DIR = join(DIST, 'test/cni');
export const PLUGIN_DIR = join(DIST, 'cni');

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: Record<string, unknown>;
}

export function runPlugin(path: string, env: Record<string, string | undefined>, stdin: string | object = ''): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const cleanEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) cleanEnv[k] = v;
    const child = spawn(path, [], { env: cleanEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const run: PluginRun = { code: code ?? -1, stdout, stderr };
      try {
        run.json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      resolve(run);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
  });
}

/** The CNI_* variables of an ADD/DEL/CHECK for `containerId` on `ifname`. */
export function cniEnv(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: 'jail1', CNI_IFNAME: 'eth0', CNI_PATH: TEST_PLUGIN_DIR, ...extra };
}
