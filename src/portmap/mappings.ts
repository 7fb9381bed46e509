import { CniCode, CniError } from '../cni/errors';
import type { PortRequestEntry } from '../ipam/api-types';
import { canonicalAddress } from '../net/cidr';
import type { PortProtocol } from '../pf/port-rules';

/**
 * `runtimeConfig.portMappings` (the CNI `portMappings` capability) checked and normalised:
 * protocol in lower case, hostIP canonical, exact duplicates dropped, and neighbouring single
 * ports (8000->80, 8001->81, ...: what runtimes send for `-p 8000-8010:80-90`) joined into one
 * range, so that a range costs one rule. `hostPortEnd` is jailnet's extension for a range in one
 * entry: host ports hostPort..hostPortEnd go one to one to containerPort..
 */

export interface RawPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
  hostPortEnd?: number;
}

export interface PortMapping {
  protocol: PortProtocol;
  hostPort: number;
  hostPortEnd: number;
  containerPort: number;
  /** Canonical address; undefined for every host address. "0.0.0.0" / "::": every address of that family. */
  hostIP?: string;
}

const field = (i: number, name?: string) => `runtimeConfig.portMappings[${i}]${name ? `.${name}` : ''}`;

function invalid(msg: string, hint = ''): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `network configuration: ${msg}`, hint);
}

function normalize(raw: RawPortMapping, i: number): PortMapping {
  const protocol = raw.protocol.toLowerCase();
  if (protocol === 'sctp') {
    throw new CniError(CniCode.UnsupportedField, `network configuration: field "${field(i, 'protocol')}": sctp is not supported by jailnet's portmap`, 'publish tcp or udp ports; the emulated pf jailnet is tested on has no sctp');
  }
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw invalid(`field "${field(i, 'protocol')}" must be "tcp" or "udp", got ${JSON.stringify(raw.protocol.slice(0, 40))}`);
  }
  const hostPortEnd = raw.hostPortEnd ?? raw.hostPort;
  if (hostPortEnd < raw.hostPort) throw invalid(`field "${field(i, 'hostPortEnd')}" (${hostPortEnd}) is below hostPort (${raw.hostPort})`, 'a range runs from hostPort up to hostPortEnd');
  if (raw.containerPort + (hostPortEnd - raw.hostPort) > 65535) {
    throw invalid(`${field(i)}: host ports ${raw.hostPort}-${hostPortEnd} map to container ports beyond 65535 (from ${raw.containerPort})`);
  }
  const out: PortMapping = { protocol, hostPort: raw.hostPort, hostPortEnd, containerPort: raw.containerPort };
  if (raw.hostIP !== undefined && raw.hostIP !== '') {
    try {
      out.hostIP = canonicalAddress(raw.hostIP);
    } catch {
      throw invalid(`field "${field(i, 'hostIP')}" must be an IP address, got ${JSON.stringify(raw.hostIP.slice(0, 64))}`, 'leave hostIP out to publish on every host address');
    }
    if (isLoopback(out.hostIP)) {
      throw new CniError(
        CniCode.UnsupportedField,
        `network configuration: field "${field(i, 'hostIP')}": ${out.hostIP} is a loopback address, which jailnet's portmap cannot publish on`,
        "pf would hand the jail connections from the host's loopback address, which it cannot answer; publish on one of the host's own addresses (hostIP), or on all of them (no hostIP)",
      );
    }
  }
  return out;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/** The family of a hostIP (0: every address of both families). */
export function hostFamily(hostIP: string | undefined): 0 | 4 | 6 {
  if (hostIP === undefined) return 0;
  return hostIP.includes(':') ? 6 : 4;
}

/** "0.0.0.0" and "::" stand for every host address of their family. */
export function isWildcard(hostIP: string | undefined): boolean {
  return hostIP === undefined || hostIP === '0.0.0.0' || hostIP === '::';
}

function hostIpsOverlap(a: string | undefined, b: string | undefined): boolean {
  const fa = hostFamily(a);
  const fb = hostFamily(b);
  if (fa === 0 || fb === 0) return true;
  return fa === fb && (a === b || isWildcard(a) || isWildcard(b));
}

export function describeMapping(m: PortMapping): string {
  const ip = m.hostIP === undefined ? '*' : m.hostIP.includes(':') ? `[${m.hostIP}]` : m.hostIP;
  const ports = m.hostPortEnd === m.hostPort ? `${m.hostPort}` : `${m.hostPort}-${m.hostPortEnd}`;
  const to = m.hostPortEnd === m.hostPort ? `${m.containerPort}` : `${m.containerPort}-${m.containerPort + m.hostPortEnd - m.hostPort}`;
  return `${ip}:${ports}->${to}/${m.protocol}`;
}

const sameMapping = (a: PortMapping, b: PortMapping) =>
  a.protocol === b.protocol && a.hostIP === b.hostIP && a.hostPort === b.hostPort && a.hostPortEnd === b.hostPortEnd && a.containerPort === b.containerPort;

/** Checked, deduplicated and joined mappings; code 2 for sctp, 7 for anything else wrong. */
export function parsePortMappings(raw: readonly RawPortMapping[] | undefined): PortMapping[] {
  const list: PortMapping[] = [];
  (raw ?? []).forEach((r, i) => {
    const m = normalize(r, i);
    if (list.some((x) => sameMapping(x, m))) return;
    const clash = list.find((x) => x.protocol === m.protocol && x.hostPort <= m.hostPortEnd && m.hostPort <= x.hostPortEnd && hostIpsOverlap(x.hostIP, m.hostIP));
    if (clash) throw invalid(`${field(i)}: ${describeMapping(m)} overlaps ${describeMapping(clash)} of an earlier entry`, 'publish each host port once');
    list.push(m);
  });
  return joinNeighbours(list);
}

/** Joins mappings that continue each other (host and container ports both contiguous). */
function joinNeighbours(list: PortMapping[]): PortMapping[] {
  const sorted = [...list].sort((a, b) => (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0) || String(a.hostIP ?? '').localeCompare(String(b.hostIP ?? '')) || a.hostPort - b.hostPort);
  const out: PortMapping[] = [];
  for (const m of sorted) {
    const last = out[out.length - 1];
    if (last && last.protocol === m.protocol && last.hostIP === m.hostIP && m.hostPort === last.hostPortEnd + 1 && m.containerPort === last.containerPort + (last.hostPortEnd - last.hostPort) + 1) {
      last.hostPortEnd = m.hostPortEnd;
    } else out.push({ ...m });
  }
  return out;
}

/** What jailnetd reserves for the mappings. */
export function reservationEntries(mappings: readonly PortMapping[]): PortRequestEntry[] {
  return mappings.map((m) => {
    const e: PortRequestEntry = { protocol: m.protocol, hostPort: m.hostPort };
    if (m.hostPortEnd !== m.hostPort) e.hostPortEnd = m.hostPortEnd;
    if (m.hostIP !== undefined) e.hostIP = m.hostIP;
    return e;
  });
}
