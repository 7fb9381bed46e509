import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { CniCode, CniError } from '../cni/errors';
import { spawnDetached, type DetachedProcess } from '../freebsd/spawn';
import { isHeld, tryLock } from '../util/file-lock';

/**
 * Starting jailnetd from the IPAM plugin when its socket does not answer, so that a fresh host
 * needs nothing else. Many plugins may find the socket dead at once (a runtime starting many
 * jails); exactly one of them starts the daemon: the one that takes the lock `<socket>.start`
 * (util/file-lock.ts), the others wait for the socket to answer. The starter looks at the socket again
 * after taking the file, so a plugin that saw the socket dead before another one's daemon came
 * up does not start a second one. The daemon's own state-directory lock is the last guard.
 */

export interface AutostartOptions {
  socket: string;
  daemonPath: string;
  daemonArgs: string[];
  logFile: string;
  /** How long to wait for the daemon to answer. */
  waitMs: number;
  env?: NodeJS.ProcessEnv;
}

/** Polling the socket starts at 15 ms and backs off to 100 ms: many plugins may be waiting. */
const POLL_MS = 15;
const POLL_MAX_MS = 100;

/**
 * Node options for jailnetd: an 8 MB young generation instead of V8's 16 MB. V8 keeps the young
 * generation it grew while the state was read, so with the default 65,000 leases take ~15 MB
 * more resident memory; 2 MB saves more but costs a third of the throughput under load
 * (bench/ipam-scale.bench.ts, bench/ipam-throughput.bench.ts). conf/rc.d/jailnetd sets the same.
 */
export const DAEMON_NODE_OPTIONS = '--max-semi-space-size=8';

/**
 * glibc's malloc gives each thread that allocates (libuv's pool, V8's compiler and GC workers)
 * an arena of its own and keeps what it grew: over 100 attach/detach cycles ~3.5 MB of jailnetd's
 * resident memory on Linux (bench/daemon-memory.bench.ts, docs/performance.md). Two arenas are
 * plenty for a daemon whose JavaScript runs on one thread. Only glibc reads it: FreeBSD's libc
 * malloc is jemalloc, which ignores the variable (it has its own arenas and hands unused pages
 * back by itself), so it matters where jailnet runs on Linux: the emulated host, tests, benches.
 */
export const DAEMON_MALLOC_ARENA_MAX = '2';

/**
 * The environment jailnetd is started with: an allow-list, nothing else of the caller's (a
 * runtime's NODE_OPTIONS=--require..., LD_PRELOAD or NODE_EXTRA_CA_CERTS would reach a
 * long-lived root daemon; the last one alone costs every start ~80 ms). PATH is fixed, with
 * the directory of the node running this plugin first (jailnetd's `#!/usr/bin/env node` then
 * finds the same node); NODE_OPTIONS is DAEMON_NODE_OPTIONS only; the time zone, the locale
 * and jailnet's operational variables are kept; MALLOC_ARENA_MAX is DAEMON_MALLOC_ARENA_MAX. In the test build, the test switches are kept
 * too (the started daemon must use the emulated host's tools); the release build has none.
 */
export const DAEMON_ENV_KEPT = ['TZ', 'LANG', 'LC_ALL', 'JAILNET_LOG_LEVEL', 'JAILNET_COMMAND_TIMEOUT'] as const;
export const DAEMON_PATH_DIRS = '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin';

export function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { PATH: `${dirname(process.execPath)}:${DAEMON_PATH_DIRS}`, NODE_OPTIONS: DAEMON_NODE_OPTIONS, MALLOC_ARENA_MAX: DAEMON_MALLOC_ARENA_MAX };
  for (const name of DAEMON_ENV_KEPT) if (env[name]) out[name] = env[name];
  // A test switch: see util/test-switches.ts for why it is written out like this.
  if (globalThis.JAILNET_TEST_SWITCHES !== false) {
    if (env['JAILNET_FREEBSD_ROOT']) out['JAILNET_FREEBSD_ROOT'] = env['JAILNET_FREEBSD_ROOT'];
    if (env['JAILNET_RUN_DIR']) out['JAILNET_RUN_DIR'] = env['JAILNET_RUN_DIR'];
  }
  return out;
}

/** True when something accepts connections on the socket. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function notStarted(opts: AutostartOptions, why: string): CniError {
  return new CniError(
    CniCode.NotAvailable,
    `jailnetd is not running at ${opts.socket} and could not be started: ${why}`,
    `started as: ${opts.daemonPath} ${opts.daemonArgs.join(' ')}; see ${opts.logFile}. Start it yourself (service jailnetd start) or fix "ipam.daemon"`,
  );
}

/** Returns when the daemon answers on the socket, starting it if nobody else is doing so. */
export async function ensureDaemonRunning(opts: AutostartOptions): Promise<void> {
  const startFile = `${opts.socket}.start`;
  const deadline = Date.now() + opts.waitMs;
  let pause = POLL_MS;
  const poll = () => {
    const ms = pause;
    pause = Math.min(POLL_MAX_MS, Math.ceil(pause * 1.3));
    return sleep(ms);
  };
  mkdirSync(dirname(opts.socket), { recursive: true, mode: 0o700 });
  for (;;) {
    if (await socketAnswers(opts.socket)) return;
    let lock: Awaited<ReturnType<typeof tryLock>>;
    try {
      lock = await tryLock(startFile);
    } catch (err) {
      throw notStarted(opts, `cannot create ${startFile}: ${(err as Error).message}`);
    }
    if (!isHeld(lock)) {
      // Someone else is starting it (a starter that died, or whose PID was reused, lost the file in tryLock).
      if (Date.now() > deadline) throw notStarted(opts, `it did not answer within ${opts.waitMs / 1000} s (process ${lock.owner.pid} is starting it)`);
      await poll();
      continue;
    }
    try {
      if (await socketAnswers(opts.socket)) return;
      let daemon: DetachedProcess;
      try {
        // Run by the node that runs this plugin, as the rc.d script runs it: no PATH look-up.
        daemon = await spawnDetached(process.execPath, [opts.daemonPath, ...opts.daemonArgs], { logFile: opts.logFile, env: daemonEnv(opts.env ?? process.env) });
      } catch (err) {
        throw notStarted(opts, (err as Error).message);
      }
      for (;;) {
        if (await socketAnswers(opts.socket)) return;
        if (daemon.exited()) {
          // It may have found another daemon on the state directory; that one answers soon or never.
          await sleep(100);
          if (await socketAnswers(opts.socket)) return;
          throw notStarted(opts, `it exited right away`);
        }
        if (Date.now() > deadline) throw notStarted(opts, `it did not answer within ${opts.waitMs / 1000} s`);
        await poll();
      }
    } finally {
      lock.release();
    }
  }
}
