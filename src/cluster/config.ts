import { parseAddress } from '../net/address';
import { parseCidr } from '../net/cidr';
import { IpamError } from '../ipam/errors';
import { interfaceName } from '../freebsd/names';

/**
 * A cluster network's `cluster` object (the `ipam` section's; schema in
 * src/config/schemas/cluster.ts) and the checks of its values, shared by `jailnet network
 * create`/validate and jailnetd. Defaults are filled in by `clusterSettings`.
 */

export interface ClusterConfig {
  endpoints: string[];
  tls?: { ca: string; cert?: string; key?: string };
  prefix?: string;
  vni: number;
  mtu?: number;
  underlay?: string;
  blockPrefix?: number;
  leaseTtl?: number;
  reclaimGrace?: number;
  port?: number;
}

export type ClusterSettings = Required<Omit<ClusterConfig, 'tls' | 'underlay'>> & Pick<ClusterConfig, 'tls' | 'underlay'>;

export const CLUSTER_DEFAULTS = { prefix: '/jailnet', blockPrefix: 26, leaseTtl: 10, reclaimGrace: 30, port: 4789 } as const;
/** 1500 less vxlan's encapsulation over IPv4: 14 (inner Ethernet) + 8 (VXLAN) + 8 (UDP) + 20 (IPv4), as if_vxlan.c computes it. */
export const VXLAN_IPV4_MTU = 1450;
/** Peers of one network (a host's index in it is 0 .. MAX_PEERS - 1; its vxlan port is port + index). */
export const MAX_PEERS = 256;

function refuse(field: string, message: string, details: string): never {
  throw new IpamError('invalid-config', `cluster.${field}: ${message}`, details, { field: `cluster.${field}` });
}

/**
 * Checks the values and fills in the defaults. `subnet` is the network's (one IPv4 range set
 * with one range: a cluster network's addresses are cut into blocks of that subnet).
 */
export function clusterSettings(c: ClusterConfig, subnet: string): ClusterSettings {
  c.endpoints.forEach((e, i) => {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      refuse(`endpoints[${i}]`, `"${e}" is not a URL`, 'write each etcd member as http://ADDRESS:2379 or https://ADDRESS:2379');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username || !url.port) {
      refuse(`endpoints[${i}]`, `"${e}" is not an etcd client URL`, 'write each etcd member as http://ADDRESS:PORT or https://ADDRESS:PORT, nothing after the port');
    }
    if (url.protocol === 'https:' && !c.tls) refuse(`endpoints[${i}]`, `"${e}" uses https but the network has no cluster.tls`, 'name the CA (and client certificate and key) with --etcd-ca/--etcd-cert/--etcd-key');
  });
  if (c.tls && (c.tls.cert === undefined) !== (c.tls.key === undefined)) refuse('tls', 'cert and key go together', 'give both --etcd-cert and --etcd-key, or neither');
  const net = parseCidr(subnet);
  if (net.family !== 4) refuse('vni', `cluster networks are IPv4 only; the subnet ${subnet} is not`, 'use an IPv4 subnet');
  const blockPrefix = c.blockPrefix ?? CLUSTER_DEFAULTS.blockPrefix;
  if (blockPrefix < net.prefix) refuse('blockPrefix', `/${blockPrefix} blocks are larger than the subnet ${subnet}`, `use a block prefix of at least ${net.prefix}`);
  if (c.underlay !== undefined) {
    const a = parseAddress(c.underlay);
    if (a ? a.family !== 4 : !isInterfaceName(c.underlay)) refuse('underlay', `"${c.underlay}" is neither an IPv4 address nor an interface name`, 'name the interface (em0) or the IPv4 address the other hosts reach this one at');
  }
  const port = c.port ?? CLUSTER_DEFAULTS.port;
  if (port + MAX_PEERS - 1 > 65535) refuse('port', `${port} leaves no room for ${MAX_PEERS} peers`, `use a port of at most ${65536 - MAX_PEERS}`);
  return {
    endpoints: c.endpoints,
    ...(c.tls ? { tls: c.tls } : {}),
    ...(c.underlay !== undefined ? { underlay: c.underlay } : {}),
    prefix: c.prefix ?? CLUSTER_DEFAULTS.prefix,
    vni: c.vni,
    mtu: c.mtu ?? VXLAN_IPV4_MTU,
    blockPrefix,
    leaseTtl: c.leaseTtl ?? CLUSTER_DEFAULTS.leaseTtl,
    reclaimGrace: c.reclaimGrace ?? CLUSTER_DEFAULTS.reclaimGrace,
    port,
  };
}

function isInterfaceName(s: string): boolean {
  try {
    interfaceName(s);
    return true;
  } catch {
    return false;
  }
}

/** A VNI for a network name when none is given: the same on every host that names the network alike. */
export function defaultVni(network: string): number {
  let h = 2166136261;
  for (const ch of Buffer.from(network)) h = Math.imul(h ^ ch, 16777619) >>> 0;
  return (h % 16777214) + 1;
}
