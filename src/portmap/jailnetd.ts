import type { AttachmentRef, PortRequestEntry, PortReservationView, PortsReserveRequest } from '../ipam/api-types';
import { ensureDaemonRunning } from '../ipam/autostart';
import { callDaemon, DaemonUnreachable, toCniError } from '../ipam/client';
import { DEFAULT_DAEMON_LOG, DEFAULT_DAEMON_PATH, DEFAULT_SOCKET, DEFAULT_TIMEOUT_S } from '../ipam/plugin-config';

/**
 * portmap's side of jailnetd: host-port reservations (POST /v1/ports/reserve, /v1/ports/release,
 * GET /v1/ports). The daemon is found and started exactly as jailnet-ipam does it (same fields,
 * same defaults, the same client and autostart code), so one daemon arbitrates both addresses
 * and ports.
 */

/** The portmap configuration's fields that say where jailnetd is (jailnet-ipam's field names). */
export interface JailnetdSection {
  socket?: string;
  autostart?: boolean;
  daemon?: { path?: string; config?: string; stateDir?: string; logFile?: string };
  timeout?: number;
}

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
  const daemonArgs = ['--socket', socket];
  if (section.daemon?.stateDir) daemonArgs.push('--state-dir', section.daemon.stateDir);
  if (section.daemon?.config) daemonArgs.push('--config', section.daemon.config);
  return {
    socket,
    autostart: section.autostart ?? true,
    daemonPath: section.daemon?.path ?? DEFAULT_DAEMON_PATH,
    daemonArgs,
    daemonLog: section.daemon?.logFile ?? DEFAULT_DAEMON_LOG,
    timeoutMs: (section.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
  };
}

/** One API call; when nobody listens and autostart is on, starts jailnetd and calls again. */
export async function callJailnetd<T>(s: JailnetdSettings, env: NodeJS.ProcessEnv, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const opts = { socket: s.socket, timeoutMs: s.timeoutMs };
  try {
    return await callDaemon<T>(opts, method, path, body);
  } catch (err) {
    if (!(err instanceof DaemonUnreachable && err.absent && s.autostart)) throw toCniError(err, 'runtimeConfig.');
  }
  await ensureDaemonRunning({ socket: s.socket, daemonPath: s.daemonPath, daemonArgs: s.daemonArgs, logFile: s.daemonLog, waitMs: s.timeoutMs, env });
  return callDaemon<T>(opts, method, path, body).catch((err: unknown) => Promise.reject(toCniError(err, 'runtimeConfig.')));
}

export interface PortsClient {
  reserve(who: AttachmentRef & { jail?: string }, ports: PortRequestEntry[]): Promise<PortReservationView>;
  /** Releases the given entries, or all of the attachment's. */
  release(who: AttachmentRef, ports?: PortRequestEntry[]): Promise<void>;
  /** The reservations of a network (of one container when given). */
  list(network: string, containerID?: string): Promise<PortReservationView[]>;
  health(): Promise<void>;
}

export function portsClient(s: JailnetdSettings, env: NodeJS.ProcessEnv): PortsClient {
  return {
    async reserve(who, ports) {
      const body: PortsReserveRequest = { ...who, ports };
      return (await callJailnetd<{ reservation: PortReservationView }>(s, env, 'POST', '/v1/ports/reserve', body)).reservation;
    },
    async release(who, ports) {
      await callJailnetd(s, env, 'POST', '/v1/ports/release', ports ? { ...who, ports } : who);
    },
    async list(network, containerID) {
      const q = `network=${encodeURIComponent(network)}${containerID ? `&container=${encodeURIComponent(containerID)}` : ''}`;
      return (await callJailnetd<{ reservations: PortReservationView[] }>(s, env, 'GET', `/v1/ports?${q}`)).reservations;
    },
    async health() {
      await callJailnetd(s, env, 'GET', '/v1/health');
    },
  };
}
