import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatStart, fromAnotherBoot, ownProcessStart, parseStart, processStart, sameStart, type ProcessStart } from '../freebsd/process';

/**
 * The one lock between jailnet processes: the bridge lock of the link plugins, jailnetd's
 * state-directory lock and autostart's start file. Node has no flock(2), so a lock is a file
 * created with O_EXCL holding its owner's PID and the owner's start time as the kernel reports
 * it (src/freebsd/process.ts). The owner is alive when a process with that PID exists AND
 * started at that time: a PID reused by another process after the owner died does not hold the
 * lock (issue 10 item 8). A file with a PID only (written by an older jailnet) is judged by
 * the PID alone, as then.
 *
 * Breaking a stale lock takes a second, short-lived lock (`NAME.break`) and reads the owner
 * again under it, so two waiters can never both remove a lock (one would remove the other's
 * fresh one). A breaker's file is removed when its writer is gone, or when it is older than a
 * few seconds (breaking takes microseconds).
 */

export const DEFAULT_RUN_DIR = '/var/run/jailnet';

/** Where jailnet keeps run-time files (locks); cleared at boot on FreeBSD. JAILNET_RUN_DIR is a test switch. */
export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  // A test switch: see util/test-switches.ts for why it is written out like this.
  if (globalThis.JAILNET_TEST_SWITCHES !== false) {
    const dir = env['JAILNET_RUN_DIR'];
    if (dir) {
      if (!dir.startsWith('/')) throw new Error(`JAILNET_RUN_DIR must be an absolute path, got "${dir}"`);
      return dir;
    }
  }
  return DEFAULT_RUN_DIR;
}

/** What a lock file says about its owner. */
export interface LockOwner {
  /** 0 while the file is being written (created, PID not yet in it). */
  pid: number;
  start?: ProcessStart;
  mtimeMs: number;
  ino: number;
}

export interface HeldLock {
  path: string;
  /** Removes the lock file if it is still this process's. */
  release(): void;
}

/** A file being written is given this long to get its PID before it counts as abandoned. */
const BEING_WRITTEN_MS = 5_000;
const STALE_BREAKER_MS = 5_000;

export function readLockOwner(path: string): LockOwner | undefined {
  try {
    const st = statSync(path);
    const [pidText, startText] = readFileSync(path, 'utf8').trim().split(/\s+/);
    const pid = Number(pidText);
    const owner: LockOwner = { pid: Number.isSafeInteger(pid) && pid > 0 ? pid : 0, mtimeMs: st.mtimeMs, ino: st.ino };
    const start = startText ? parseStart(startText) : undefined;
    if (start) owner.start = start;
    return owner;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The locks this process holds: a lock naming this PID that is not among them was left by an earlier process with our PID. */
const heldHere = new Set<string>();

/** True when the lock's owner still runs (or is still writing the file). */
export async function ownerAlive(owner: LockOwner, path: string): Promise<boolean> {
  if (owner.pid === 0) return Date.now() - owner.mtimeMs < BEING_WRITTEN_MS;
  if (owner.pid === process.pid) return heldHere.has(path);
  if (!pidExists(owner.pid)) return false;
  if (!owner.start) return true;
  if (fromAnotherBoot(owner.start)) return false;
  const now = await processStart(owner.pid);
  return now !== undefined && sameStart(now, owner.start);
}

/** Creates `path` with O_EXCL holding this process's PID and start; false when it exists. */
async function createExclusive(path: string): Promise<boolean> {
  const start = await ownProcessStart();
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}${start ? ` ${formatStart(start)}` : ''}\n`);
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

function isOurs(owner: LockOwner | undefined, start: ProcessStart | undefined): boolean {
  return owner !== undefined && owner.pid === process.pid && (!owner.start || !start || sameStart(owner.start, start));
}

/** Removes the lock at `path` if it is still the stale one seen (same inode); true when the caller may retry at once. */
async function breakStale(path: string, seen: LockOwner): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await createExclusive(breaker))) {
    const other = readLockOwner(breaker);
    if (other && (Date.now() - other.mtimeMs > STALE_BREAKER_MS || !(await ownerAlive(other, breaker)))) unlinkIfExists(breaker);
    return false;
  }
  try {
    const now = readLockOwner(path);
    if (now && now.ino === seen.ino && !(await ownerAlive(now, path))) unlinkIfExists(path);
    return true;
  } finally {
    unlinkIfExists(breaker);
  }
}

/** Who holds a lock this process could not take, and whether that owner still runs. */
export interface LockBusy {
  owner: LockOwner;
  /** False when the lock is stale but another process is breaking it right now. */
  alive: boolean;
}

/**
 * One attempt: the lock, or who holds it. A stale lock (owner gone, PID reused, or abandoned
 * while being written) is broken and taken.
 */
export async function tryLock(path: string): Promise<HeldLock | LockBusy> {
  for (let attempt = 0; ; attempt++) {
    if (await createExclusive(path)) {
      heldHere.add(path);
      const start = await ownProcessStart();
      return {
        path,
        release: () => {
          heldHere.delete(path);
          if (isOurs(readLockOwner(path), start)) unlinkIfExists(path);
        },
      };
    }
    const owner = readLockOwner(path);
    if (!owner) continue; // released between our attempt and the read
    if (await ownerAlive(owner, path)) return { owner, alive: true };
    if (!(await breakStale(path, owner)) || attempt >= 3) return { owner, alive: false };
  }
}

export function isHeld(r: HeldLock | LockBusy): r is HeldLock {
  return 'release' in r;
}

/** Waits for the lock at `path`, up to `timeoutMs`. */
export async function acquireLock(path: string, timeoutMs: number): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    const r = await tryLock(path);
    if (isHeld(r)) return r;
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path} (held by process ${r.owner.pid || 'being started'})`);
    await new Promise((res) => setTimeout(res, wait + Math.random() * wait));
    wait = Math.min(wait * 2, 50);
  }
}

/** Runs `fn` holding the lock NAME in the run directory (`<run dir>/locks/NAME.lock`). */
export async function withFileLock<T>(name: string, fn: () => Promise<T>, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<T> {
  const dir = join(runDir(options.env), 'locks');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(join(dir, `${name}.lock`), options.timeoutMs ?? 120_000);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
