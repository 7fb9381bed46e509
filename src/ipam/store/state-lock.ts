import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';

/**
 * One daemon per state directory: `<stateDir>/lock` is created with O_EXCL and holds the
 * daemon's PID. Node has no flock(2), so a lock left by a daemon that was killed is recognised
 * as stale when its PID is not running or when it predates the last boot. Breaking a stale
 * lock is itself done under `lock.break` (O_EXCL too), so two daemons starting at once after
 * a crash cannot both break it and both win: between reading the stale PID and removing the
 * file, nobody else can replace it.
 */

export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`${path} is held by process ${pid}: another jailnetd uses this state directory`);
    this.name = 'LockHeldError';
  }
}

export interface StateLock {
  path: string;
  release(): void;
}

const BREAK_STALE_MS = 30_000;
const RETRY_MS = 25;
const MAX_WAIT_MS = 10_000;

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function bootTimeMs(): number {
  return Date.now() - uptime() * 1000;
}

function readOwner(path: string): { pid: number; mtimeMs: number; ino: number } | undefined {
  try {
    const st = statSync(path);
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return { pid: Number.isNaN(pid) ? 0 : pid, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isStale(owner: { pid: number; mtimeMs: number }): boolean {
  // An empty file is a lock being written; it is stale only when it stays empty.
  if (owner.pid === 0) return Date.now() - owner.mtimeMs >= 5_000;
  if (owner.pid === process.pid) return true;
  if (owner.mtimeMs < bootTimeMs() - 5_000) return true;
  return !isProcessAlive(owner.pid);
}

function createExclusive(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes the lock at `path` if it is still the stale one seen; true when the caller may retry at once. */
function breakStale(path: string, seen: { ino: number }): boolean {
  const breaker = `${path}.break`;
  if (!createExclusive(breaker)) {
    const other = readOwner(breaker);
    if (other && (Date.now() - other.mtimeMs > BREAK_STALE_MS || !isProcessAlive(other.pid))) unlinkIfExists(breaker);
    return false;
  }
  try {
    const now = readOwner(path);
    if (now && now.ino === seen.ino && isStale(now)) unlinkIfExists(path);
    return true;
  } finally {
    unlinkIfExists(breaker);
  }
}

export async function acquireStateLock(dir: string): Promise<StateLock> {
  const path = join(dir, 'lock');
  const deadline = Date.now() + MAX_WAIT_MS;
  for (;;) {
    if (createExclusive(path)) {
      return {
        path,
        release: () => {
          const owner = readOwner(path);
          if (owner?.pid === process.pid) unlinkIfExists(path);
        },
      };
    }
    const owner = readOwner(path);
    if (!owner) continue;
    const beingWritten = owner.pid === 0 && Date.now() - owner.mtimeMs < 5_000;
    if (!beingWritten) {
      if (!isStale(owner)) throw new LockHeldError(path, owner.pid);
      if (breakStale(path, owner)) continue;
    }
    if (Date.now() > deadline) throw new Error(`could not take ${path}: it stays stale but cannot be removed (check ${path}.break)`);
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
}
