import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
