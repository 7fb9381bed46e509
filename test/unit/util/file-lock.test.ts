import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatStart, fromAnotherBoot, parseElapsedSeconds, parseProcStat, parseStart, processStart, processStartFromPs, sameStart, type ProcessStart } from '../../../src/freebsd/process';
import { acquireStateLock, LockHeldError } from '../../../src/ipam/store/state-lock';
import { withFileLock } from '../../../src/util/file-lock';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jailnet-lock-'));
  env = { JAILNET_RUN_DIR: dir };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
}

test('holders never overlap', async () => {
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 20 }, () =>
      withFileLock('b', async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 2));
        inside--;
      }, { env }),
    ),
  );
  expect(most).toBe(1);
});

test("a lock whose owner died is taken over, and the breaker's own file is gone afterwards", async () => {
  mkdirSync(join(dir, 'locks'), { recursive: true });
  writeFileSync(join(dir, 'locks', 'b.lock'), `${deadPid()}\n`);
  const started = Date.now();
  expect(await withFileLock('b', async () => 'got it', { env, timeoutMs: 5000 })).toBe('got it');
  expect(Date.now() - started).toBeLessThan(2000);
  expect(readdirSync(join(dir, 'locks'))).toEqual([]);
});

test('a live owner is waited for, up to the timeout', async () => {
  mkdirSync(join(dir, 'locks'), { recursive: true });
  writeFileSync(join(dir, 'locks', 'b.lock'), `${process.ppid}\n`);
  await expect(withFileLock('b', async () => 'no', { env, timeoutMs: 300 })).rejects.toThrow('timed out waiting for lock');
});

test('an empty lock file (its writer died before writing) is taken over once it is old', async () => {
  mkdirSync(join(dir, 'locks'), { recursive: true });
  const file = join(dir, 'locks', 'b.lock');
  writeFileSync(file, '');
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
  expect(await withFileLock('b', async () => 'got it', { env, timeoutMs: 5000 })).toBe('got it');
});

// A lock file records its owner's PID and start time (src/freebsd/process.ts). A PID that a
// later process got again does not hold the lock: that process started at another time.

/** A live process that is not the lock's owner, and the start line a lock of an earlier process with its PID would hold. */
async function reusedPid(): Promise<{ pid: number; staleLine: string; liveLine: string; stop: () => void }> {
  const child = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid as number;
  const start = (await processStart(pid)) as ProcessStart;
  const earlier: ProcessStart = start.kind === 'linux' ? { ...start, ticks: start.ticks - 500 } : { ...start, seconds: start.seconds - 5 };
  return { pid, staleLine: `${pid} ${formatStart(earlier)}\n`, liveLine: `${pid} ${formatStart(start)}\n`, stop: () => child.kill('SIGKILL') };
}

test('a lock naming a live process that is not its owner (a reused PID) is taken over at once', async () => {
  const other = await reusedPid();
  try {
    mkdirSync(join(dir, 'locks'), { recursive: true });
    writeFileSync(join(dir, 'locks', 'b.lock'), other.staleLine);
    expect(await withFileLock('b', async () => 'got it', { env, timeoutMs: 300 })).toBe('got it');
    // The control: the same process, recorded with its own start, holds the lock.
    writeFileSync(join(dir, 'locks', 'b.lock'), other.liveLine);
    await expect(withFileLock('b', async () => 'no', { env, timeoutMs: 300 })).rejects.toThrow(`held by process ${other.pid}`);
  } finally {
    other.stop();
  }
});

test("jailnetd's state-directory lock: a reused PID does not keep a daemon from starting, the live owner does", async () => {
  const other = await reusedPid();
  try {
    writeFileSync(join(dir, 'lock'), other.staleLine);
    const lock = await acquireStateLock(dir);
    expect(readFileSync(lock.path, 'utf8')).toBe(`${process.pid} ${formatStart((await processStart(process.pid)) as ProcessStart)}\n`);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, 'lock'), other.liveLine);
    await expect(acquireStateLock(dir)).rejects.toThrow(new LockHeldError(join(dir, 'lock'), other.pid));
  } finally {
    other.stop();
  }
});

test("a lock naming this process's PID that this process does not hold was left by an earlier process with the PID", async () => {
  const own = (await processStart(process.pid)) as ProcessStart;
  writeFileSync(join(dir, 'lock'), `${process.pid} ${formatStart(own)}\n`);
  const lock = await acquireStateLock(dir);
  // Held here now: a second attempt in this process is refused like any other.
  await expect(acquireStateLock(dir)).rejects.toBeInstanceOf(LockHeldError);
  lock.release();
});

test('a lock written in an earlier boot is stale whatever process has its PID now', async () => {
  const start = (await processStart(process.ppid)) as ProcessStart;
  if (start.kind !== 'linux') throw new Error('this machine is expected to be Linux');
  mkdirSync(join(dir, 'locks'), { recursive: true });
  writeFileSync(join(dir, 'locks', 'b.lock'), `${process.ppid} ${formatStart({ ...start, boot: '00000000-0000-0000-0000-000000000000' })}\n`);
  expect(await withFileLock('b', async () => 'got it', { env, timeoutMs: 300 })).toBe('got it');
});

describe('process start times', () => {
  test('/proc/PID/stat: field 22, counted after the command name, which may hold spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    expect(parseProcStat(`4242 (a) b (c) ${fields.join(' ')}`)).toBe(22);
  });

  test('the ps way (FreeBSD) agrees with /proc to the second', async () => {
    const child = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const fromPs = await processStartFromPs(child.pid as number);
      expect(fromPs?.kind).toBe('uptime');
      const fromProc = (await processStart(child.pid as number)) as Extract<ProcessStart, { kind: 'linux' }>;
      expect(Math.abs((fromPs as { seconds: number }).seconds - fromProc.ticks / 100)).toBeLessThanOrEqual(1);
      const ps = fromPs as Extract<ProcessStart, { kind: 'uptime' }>;
      expect(sameStart(ps, { ...ps, seconds: ps.seconds + 1 })).toBe(true);
      expect(sameStart(ps, { ...ps, seconds: ps.seconds + 2 })).toBe(false);
      // Its boot is this boot; a start recorded with a boot time far from this one's is of another.
      expect(fromAnotherBoot(ps)).toBe(false);
      expect(fromAnotherBoot({ ...ps, bootEpoch: ps.bootEpoch - 3600 })).toBe(true);
      expect(parseStart(formatStart(ps))).toEqual(ps);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await processStartFromPs(deadPid())).toBeUndefined();
    expect(parseElapsedSeconds('   12\n')).toBe(12);
    expect(parseElapsedSeconds('')).toBeUndefined();
  });
});
