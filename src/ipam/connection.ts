import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runDir } from '../util/file-lock';
import { CniCode, CniError } from '../cni/errors';
import { checkTrustedPath, UntrustedPathError, type PathUse } from '../util/trusted-path';
import { ensureDaemonRunning } from './autostart';
import { callDaemon, DaemonUnreachable, toCniError } from './client';
import { DEFAULT_SOCKET } from './socket';

/**
 * How a plugin reaches jailnetd (jailnet-ipam for addresses, portmap for host ports): the same
 * configuration fields, the same defaults, and one call that starts the daemon when nobody
 * listens (unless autostart is off), so that one daemon arbitrates both.
 */

export { DEFAULT_SOCKET };

/**
 * The socket a configuration without `socket` names: DEFAULT_SOCKET, in the run directory, which
 * the test switch JAILNET_RUN_DIR moves (so that files written by other tools, which name no
 * socket, reach a test's daemon).
 */
export function defaultSocket(): string {
  return join(runDir(), 'jailnetd.sock');
}
export const DEFAULT_DAEMON_PATH = '/usr/local/sbin/jailnetd';
/** Where jailnetd is looked for when `daemon.path` is not set: hier(7), then where `npm install -g` puts it. */
export const DAEMON_PATH_CANDIDATES = [DEFAULT_DAEMON_PATH, '/usr/local/bin/jailnetd'] as const;
export const DEFAULT_DAEMON_LOG = '/var/log/jailnetd.log';
/** Seconds to wait for an answer from jailnetd, and for a daemon being started to answer. */
export const DEFAULT_TIMEOUT_S = 30;
/** How long to wait for a daemon being started to answer, when no `timeout` is configured. */
export const AUTOSTART_WAIT_MS = DEFAULT_TIMEOUT_S * 1000;

/** The first candidate that exists (the first one when none does, so that the error names it). */
export function defaultDaemonPath(): string {
  for (const p of DAEMON_PATH_CANDIDATES) if (existsSync(p)) return p;
  return DEFAULT_DAEMON_PATH;
}

/** The configuration fields that say where jailnetd is. */
export type JailnetdSection = {
  socket?: string;
  autostart?: boolean;
  daemon?: { path?: string; config?: string; stateDir?: string; logFile?: string };
  timeout?: number;
};

export interface JailnetdSettings {
  socket: string;
  autostart: boolean;
  daemonPath: string;
  daemonArgs: string[];
  daemonLog: string;
  timeoutMs: number;
  /** Every path the plugin uses or hands to jailnetd, with the configuration field it came from. */
  paths: { field: string; path: string; use: PathUse }[];
}

/** `configPrefix`: where the section sits in the network configuration ("ipam." for jailnet-ipam, "" for portmap). */
export function jailnetdSettings(section: JailnetdSection = {}, configPrefix = 'ipam.'): JailnetdSettings {
  const socket = section.socket ?? defaultSocket();
  const daemonLog = section.daemon?.logFile ?? DEFAULT_DAEMON_LOG;
  const daemonArgs = ['--socket', socket];
  if (section.daemon?.stateDir) daemonArgs.push('--state-dir', section.daemon.stateDir);
  if (section.daemon?.config) daemonArgs.push('--config', section.daemon.config);
  // The daemon opens its log by name (not only inherits it as stderr), so that it can reopen
  // it when newsyslog(8) rotates it.
  daemonArgs.push('--log-file', daemonLog);
  const settings: JailnetdSettings = {
    socket,
    autostart: section.autostart ?? true,
    daemonPath: section.daemon?.path ?? defaultDaemonPath(),
    daemonArgs,
    daemonLog,
    timeoutMs: (section.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
    paths: [],
  };
  const field = (name: string, given: string | undefined) => `${configPrefix}${name}${given === undefined ? ' (default)' : ''}`;
  settings.paths.push(
    { field: field('socket', section.socket), path: socket, use: 'socket' },
    { field: field('daemon.path', section.daemon?.path), path: settings.daemonPath, use: 'program' },
    { field: field('daemon.logFile', section.daemon?.logFile), path: daemonLog, use: 'log' },
  );
  if (section.daemon?.stateDir) settings.paths.push({ field: field('daemon.stateDir', section.daemon.stateDir), path: section.daemon.stateDir, use: 'state-dir' });
  if (section.daemon?.config) settings.paths.push({ field: field('daemon.config', section.daemon.config), path: section.daemon.config, use: 'config' });
  return settings;
}

/**
 * Refuses a path root must not use (util/trusted-path.ts) with a CNI error naming its field.
 * The socket is checked before every call: an answer from a socket another user could have put
 * there would be believed. The daemon's program, log, state and configuration are checked
 * before it is started (jailnetd checks its own again).
 */
function requireTrusted(s: JailnetdSettings, which: 'socket' | 'start'): void {
  for (const p of s.paths) {
    if ((p.use === 'socket') !== (which === 'socket')) continue;
    try {
      checkTrustedPath(p.path, p.use);
    } catch (err) {
      if (!(err instanceof UntrustedPathError)) throw err;
      // A daemon that is not installed is a daemon that cannot be started, as before the checks.
      if (err.missing) throw new CniError(CniCode.NotAvailable, `jailnetd is not running at ${s.socket} and could not be started: field "${p.field}": ${err.message}`, 'install jailnet (npm install -g) or fix the field');
      throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "${p.field}": ${err.message}`, 'jailnet runs as root and uses only paths that nobody but root can change: see docs/security.md');
    }
  }
}

/**
 * One API call; when nobody listens and autostart is on, starts jailnetd and calls again. A
 * refusal becomes a CniError naming the field under `fieldPrefix` ("ipam.", "runtimeConfig.").
 */
export async function callJailnetd<T>(s: JailnetdSettings, env: NodeJS.ProcessEnv, method: 'GET' | 'POST', path: string, body: unknown, fieldPrefix: string): Promise<T> {
  const opts = { socket: s.socket, timeoutMs: s.timeoutMs };
  requireTrusted(s, 'socket');
  try {
    return await callDaemon<T>(opts, method, path, body);
  } catch (err) {
    if (!(err instanceof DaemonUnreachable && err.absent && s.autostart)) throw toCniError(err, fieldPrefix);
  }
  requireTrusted(s, 'start');
  await ensureDaemonRunning({ socket: s.socket, daemonPath: s.daemonPath, daemonArgs: s.daemonArgs, logFile: s.daemonLog, waitMs: s.timeoutMs, env });
  return callDaemon<T>(opts, method, path, body).catch((err: unknown) => Promise.reject(toCniError(err, fieldPrefix)));
}
