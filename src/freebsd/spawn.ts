import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { COMMAND_ENV, CommandError, loadChildProcess } from './exec';

/**
 * Starting a long-running program that outlives its caller (the IPAM plugin starting jailnetd):
 * absolute path, argv array, no shell, its own session, stdin closed and stdout/stderr to a
 * log file, so the caller's stdout (the CNI protocol) is not held open by it.
 */

export interface DetachedOptions {
  /** Appended to (created 0600); output is discarded when absent. */
  logFile?: string;
  /** The whole environment; COMMAND_ENV when absent (never the caller's). */
  env?: NodeJS.ProcessEnv;
}

export interface DetachedProcess {
  pid: number;
  /** True once the program has exited (known from its exit, not from its PID, which may be reused). */
  exited(): boolean;
}

/** Resolves once the program has started; rejects when it cannot be started. */
export function spawnDetached(file: string, args: readonly string[], options: DetachedOptions = {}): Promise<DetachedProcess> {
  if (!isAbsolute(file)) return Promise.reject(new Error(`refusing to run "${file}": commands are run by absolute path only`));
  let out: number | 'ignore' = 'ignore';
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o755 });
    out = openSync(options.logFile, 'a', 0o600);
  }
  return new Promise<DetachedProcess>((resolve, reject) => {
    const child = loadChildProcess().spawn(file, args as string[], { detached: true, stdio: ['ignore', out, out], env: options.env ?? COMMAND_ENV });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(new CommandError([file, ...args], null, null, '', '', false, `could not be started (${err.code ?? err.message})`));
    });
    let exited = false;
    child.once('exit', () => (exited = true));
    child.once('spawn', () => {
      child.unref();
      resolve({ pid: child.pid as number, exited: () => exited });
    });
  }).finally(() => {
    if (typeof out === 'number') closeSync(out);
  });
}
