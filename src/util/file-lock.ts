import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A lock between jailnet processes on one host (plugins for different jails run at the same
 * time): a file created with O_EXCL that holds the owner's pid. A lock whose owner died is
 * taken over, so a killed plugin cannot block the host. Node has no flock(2); this needs only
 * open, unlink and kill(pid, 0), which behave the same on FreeBSD and Linux.
 */

export const RUN_DIR_ENV = 'JAILNET_RUN_DIR';
export const DEFAULT_RUN_DIR = '/var/run/jailnet';

/** Where jailnet keeps run-time files (locks); cleared at boot on FreeBSD. */
export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[RUN_DIR_ENV] || DEFAULT_RUN_DIR;
  if (!dir.startsWith('/')) throw new Error(`${RUN_DIR_ENV} must be an absolute path, got "${dir}"`);
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the lock file if its owner is dead. Breaking a lock takes a second, short-lived lock
 * (`NAME.lock.break`) and looks at the owner again under it, so two waiters can never both
 * remove a lock (one of them would remove the other's fresh one). A breaker that died leaves
 * its file behind; one older than a few seconds is removed.
 */
function clearIfStale(path: string): void {
  const pid = ownerOf(path);
  if (pid !== undefined && alive(pid)) return;
  // A lock file without a pid is being written, unless it is old (its writer died at once).
  if (pid === undefined && !olderThan(path, STALE_BREAKER_MS)) return;
  const breaker = `${path}.break`;
  if (!tryTake(breaker)) {
    if (olderThan(breaker, STALE_BREAKER_MS)) {
      try {
        unlinkSync(breaker);
      } catch {
        /* gone already */
      }
    }
    return;
  }
  try {
    if (ownerOf(path) === pid) unlinkSync(path);
  } catch {
    /* gone already */
  } finally {
    unlinkSync(breaker);
  }
}

const STALE_BREAKER_MS = 5_000;

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

export async function withFileLock<T>(name: string, fn: () => Promise<T>, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<T> {
  const dir = join(runDir(options.env), 'locks');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${name}.lock`);
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let wait = 2;
  while (!tryTake(path)) {
    clearIfStale(path);
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path}`);
    await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      /* already taken over: our owner check failed while we were slow */
    }
  }
}
