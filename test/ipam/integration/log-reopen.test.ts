import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync } from 'node:fs';
import { Sandbox, type DaemonProcess } from '../helpers/sandbox';

/**
 * Log rotation as newsyslog(8) does it (conf/newsyslog/jailnetd.conf): rename the log, then
 * SIGHUP the PID in the state directory's lock. jailnetd must write on in a new file under the
 * old name and close the renamed one.
 */

let sb: Sandbox;
let daemon: DaemonProcess;

beforeAll(async () => {
  sb = new Sandbox('logrotate');
  daemon = await sb.startDaemon();
});
afterAll(() => sb.cleanup());

/** Waits for a condition the daemon brings about; the deadline only ends a hung test. */
async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

function openFiles(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

test('SIGHUP after the log was renamed: new lines go to a new file, the renamed one is closed', async () => {
  await until('the start-up line in the log', () => /listening on/.test(sb.log()));
  const rotated = `${sb.logFile}.0`;
  renameSync(sb.logFile, rotated);
  const pidInLock = Number.parseInt(readFileSync(`${sb.stateDir}/lock`, 'utf8'), 10);
  expect(pidInLock).toBe(daemon.pid);
  process.kill(pidInLock, 'SIGHUP');

  await until('the SIGHUP line in a new log file', () => /SIGHUP: log file reopened/.test(sb.log()));
  expect(read(rotated)).toMatch(/listening on/);
  expect(read(rotated)).not.toMatch(/SIGHUP/);
  await until('the renamed file closed', () => !openFiles(daemon.pid).includes(rotated));
  expect(openFiles(daemon.pid)).toContain(sb.logFile);

  // The daemon still answers, and logs into the new file.
  expect((await sb.api('GET', '/v1/health')).status).toBe(200);
  expect(daemon.child.exitCode).toBeNull();
});
