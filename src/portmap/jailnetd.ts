import type { AttachmentRef, PortRequestEntry, PortReservationView, PortsReserveRequest } from '../ipam/api-types';
import { callJailnetd as call, type JailnetdSettings } from '../ipam/connection';

export { jailnetdSettings, type JailnetdSection, type JailnetdSettings } from '../ipam/connection';

const callJailnetd = <T>(s: JailnetdSettings, env: NodeJS.ProcessEnv, method: 'GET' | 'POST', path: string, body?: unknown) => call<T>(s, env, method, path, body, 'runtimeConfig.');

/**
 * portmap's side of jailnetd: host-port reservations (POST /v1/ports/reserve, /v1/ports/release,
 * GET /v1/ports). The daemon is found and started exactly as jailnet-ipam does it (same fields,
 * same defaults, the same client and autostart code), so one daemon arbitrates both addresses
 * and ports.
 */

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
