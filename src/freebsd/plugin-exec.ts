import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execCommand, type ExecResult, CommandError } from './exec';

/**
 * Finding and running another CNI plugin (IPAM delegation). It lives in the host layer because
 * it starts a process; the protocol side is src/cni/delegate.ts.
 */

/** The first executable file named `type` in the CNI_PATH directories, or undefined. */
export function findExecutable(type: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    if (!dir.startsWith('/')) continue;
    const candidate = join(dir, type);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * The second line of every jailnet plugin executable (scripts/build.mjs writes it): a runtime
 * that finds this file in CNI_PATH may run the plugin's code in its own process instead.
 */
export const PLUGIN_MARK = '// jailnet CNI plugin';

/** Whether the executable at `path` is one of jailnet's plugins (its first 64 bytes hold the mark). */
export function isJailnetPlugin(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(64);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('latin1').includes(`\n${PLUGIN_MARK}\n`);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface PluginRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a plugin with `env` and `stdin`; a non-zero exit is returned, not thrown. */
export async function runPluginExecutable(path: string, env: NodeJS.ProcessEnv, stdin: Buffer | string, timeoutMs: number): Promise<PluginRun> {
  try {
    const r: ExecResult = await execCommand(path, [], { env, input: stdin.toString(), timeoutMs });
    return { exitCode: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    if (err instanceof CommandError && err.exitCode !== null) return { exitCode: err.exitCode, stdout: err.stdout, stderr: err.stderr };
    throw err;
  }
}
