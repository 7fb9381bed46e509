import { existsSync } from 'node:fs';
import { ensureDaemonRunning } from './autostart';
import { callDaemon, DaemonUnreachable, toCniError } from './client';

/**
 * How a plugin reaches jailnetd (jailnet-ipam for addresses, portmap for host ports): the same
 * configuration fields, the same defaults, and one call that starts the daemon when nobody
 * listens (unless autostart is off), so that one daemon arbitrates both.
 */

export const DEFAULT_SOCKET = '/var/run/jailnet/jailnetd.sock';
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
}

export function jailnetdSettings(section: JailnetdSection = {}): JailnetdSettings {
  const socket = section.socket ?? DEFAULT_SOCKET;
  const daemonLog = section.daemon?.logFile ?? DEFAULT_DAEMON_LOG;
  const daemonArgs = ['--socket', socket];
  if (section.daemon?.stateDir) daemonArgs.push('--state-dir', section.daemon.stateDir);
  if (section.daemon?.config) daemonArgs.push('--config', section.daemon.config);
  // The daemon opens its log by name (not only inherits it as stderr), so that it can reopen
  // it when newsyslog(8) rotates it.
  daemonArgs.push('--log-file', daemonLog);
  return {
    socket,
    autostart: section.autostart ?? true,
    daemonPath: section.daemon?.path ?? defaultDaemonPath(),
    daemonArgs,
    daemonLog,
    timeoutMs: (section.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
  };
}

/**
 * One API call; when nobody listens and autostart is on, starts jailnetd and calls again. A
 * refusal becomes a CniError naming the field under `fieldPrefix` ("ipam.", "runtimeConfig.").
 */
export async function callJailnetd<T>(s: JailnetdSettings, env: NodeJS.ProcessEnv, method: 'GET' | 'POST', path: string, body: unknown, fieldPrefix: string): Promise<T> {
  const opts = { socket: s.socket, timeoutMs: s.timeoutMs };
  try {
    return await callDaemon<T>(opts, method, path, body);
  } catch (err) {
    if (!(err instanceof DaemonUnreachable && err.absent && s.autostart)) throw toCniError(err, fieldPrefix);
  }
  await ensureDaemonRunning({ socket: s.socket, daemonPath: s.daemonPath, daemonArgs: s.daemonArgs, logFile: s.daemonLog, waitMs: s.timeoutMs, env });
  return callDaemon<T>(opts, method, path, body).catch((err: unknown) => Promise.reject(toCniError(err, fieldPrefix)));
}
