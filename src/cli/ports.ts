import { isIP } from 'node:net';
import { CniCode, CniError } from '../cni/errors';
import { networkName } from '../freebsd/names';

/** A published port, in CNI's portMappings shape, and the network that publishes it. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
  /** `@NETWORK`: the network whose portmap publishes it (the jail's first network when absent). */
  network?: string;
}

const SPEC = /^(?:(\[[0-9a-fA-F:.]+\]|\d+\.\d+\.\d+\.\d+):)?(\d+)(?:-(\d+))?:(\d+)(?:-(\d+))?(?:\/(tcp|udp))?(?:@([^@\s]+))?$/;

function port(text: string, what: string, spec: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CniError(CniCode.InvalidNetworkConfig, `-p ${spec}: ${what} ${text} is not a port (1-65535)`);
  return n;
}

/**
 * Docker's -p forms: HOSTPORT:PORT[/proto], IP:HOSTPORT:PORT[/proto], and ranges
 * 8000-8010:8000-8010 (same length), one mapping per port; jailnet adds `@NETWORK` at the end
 * to say which of the jail's networks publishes it.
 */
export function parsePortSpec(spec: string): PortMapping[] {
  const m = SPEC.exec(spec.trim());
  if (!m) throw new CniError(CniCode.InvalidNetworkConfig, `-p ${spec}: expected [IP:]HOSTPORT:PORT[/tcp|udp][@NETWORK]`, 'for example -p 8080:80, -p 192.0.2.10:5353:53/udp (a host address; loopback addresses cannot be published) or -p 8443:443@web');
  const hostIP = m[1]?.replace(/^\[|\]$/g, '');
  if (hostIP !== undefined && !isIP(hostIP)) throw new CniError(CniCode.InvalidNetworkConfig, `-p ${spec}: ${hostIP} is not an IP address`);
  const h0 = port(m[2] as string, 'host port', spec);
  const h1 = m[3] ? port(m[3], 'host port', spec) : h0;
  const c0 = port(m[4] as string, 'port', spec);
  const c1 = m[5] ? port(m[5], 'port', spec) : c0 + (h1 - h0);
  if (h1 < h0 || c1 - c0 !== h1 - h0) throw new CniError(CniCode.InvalidNetworkConfig, `-p ${spec}: the host and jail port ranges must have the same length`);
  const protocol = (m[6] ?? 'tcp') as 'tcp' | 'udp';
  const network = m[7];
  if (network !== undefined) {
    try {
      networkName(network);
    } catch (err) {
      throw new CniError(CniCode.InvalidNetworkConfig, `-p ${spec}: ${(err as Error).message}`);
    }
  }
  return Array.from({ length: h1 - h0 + 1 }, (_, i) => ({ hostPort: h0 + i, containerPort: c0 + i, protocol, ...(hostIP ? { hostIP } : {}), ...(network ? { network } : {}) }));
}

export function formatPort(p: PortMapping): string {
  return `${p.hostIP ? `${p.hostIP}:` : ''}${p.hostPort}->${p.containerPort}/${p.protocol}${p.network ? `@${p.network}` : ''}`;
}

/** The mapping as the portMappings capability carries it (the network is the runtime's business). */
export function capabilityMapping(p: PortMapping): Omit<PortMapping, 'network'> {
  const { network: _network, ...mapping } = p;
  return mapping;
}
