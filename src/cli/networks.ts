import { accessSync, closeSync, constants, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadBridgeConfig } from '../bridge/config';
import { CniCode, CniError } from '../cni/errors';
import { parseConflist, type NetworkConfigList } from '../cni/runtime/conflist';
import { bridgeOf, listNetworks, networkPath, subnetsOf } from './network-files';
import { pluginConfig } from '../cni/runtime/chain';
import { loadEpairConfig } from '../epair/config';
import { networkName } from '../freebsd/names';
import { clusterSettings, VXLAN_IPV4_MTU, type ClusterConfig } from '../cluster/config';
import { IpamError } from '../ipam/errors';
import { ipamOfJailnetd, parseIpamConfig, requireUsableRanges } from '../ipam/plugin-config';
import type { RangeConfig } from '../ipam/range';
import { requireNoHostConflict } from '../link/host-conflicts';
import { networkCidr, parseCidr } from '../net/cidr';
import { isSupportedVersion, SUPPORTED_VERSIONS } from '../cni/version';
import type { CliPaths } from './paths';

/** Network files: written by `jailnet network create`, checked by `network validate` and `doctor` (reading them: network-files.ts). */

export { bridgeOf, CONFLIST_SUFFIX, listNetworks, loadNetwork, networkPath, subnetsOf } from './network-files';
/**
 * Checks a list the way its plugins will: the list's shape, then each jailnet plugin's own
 * configuration as the runtime will hand it over (name and cniVersion injected).
 */
export function validateNetwork(list: NetworkConfigList): void {
  const rt = { containerId: 'validate', netns: 'validate', ifname: 'eth0' };
  list.plugins.forEach((plugin, i) => {
    const conf = pluginConfig(list, plugin, rt);
    const where = (err: unknown) => CniError.from(err, `plugins[${i}] (${plugin.type})`);
    try {
      if (plugin.type === 'bridge') loadBridgeConfig(conf);
      if (plugin.type === 'epair') loadEpairConfig(conf);
      if (ipamOfJailnetd(conf as { ipam?: { type?: string } })) {
        const { settings } = parseIpamConfig(conf);
        requireUsableRanges(settings);
        if (settings.cluster) requireClusterSettings(settings.cluster, settings.ranges);
      }
    } catch (err) {
      throw where(err);
    }
  });
}

export interface NewNetwork {
  name: string;
  subnet: string;
  gateway?: string;
  subnet6?: string;
  bridge?: string;
  /** No NAT to the outside (jails reach each other and the host only). */
  internal: boolean;
  mtu?: number;
  /** Jails of other networks cannot open connections to this one (Docker's default). */
  isolated: boolean;
  /** The file's cniVersion (default FILE_CNI_VERSION). */
  cniVersion?: string;
  /** A network across hosts (docs/cluster.md). */
  cluster?: ClusterConfig;
}

/**
 * A cluster network's `cluster` object against its ranges (one IPv4 subnet, no
 * rangeStart/rangeEnd/gateway: each host claims blocks and has its own gateway), and its TLS
 * files readable: refused with the field named, before anything is written.
 */
function requireClusterSettings(cluster: ClusterConfig, ranges: RangeConfig[][]): void {
  const only = ranges.length === 1 && ranges[0]?.length === 1 ? ranges[0][0] : undefined;
  if (!only || only.rangeStart || only.rangeEnd || only.gateway) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration: a cluster network has one IPv4 subnet without rangeStart, rangeEnd or gateway', 'each host claims blocks of the subnet and puts its own gateway on its bridge (docs/cluster.md); leave out --ipv6-subnet and --gateway');
  }
  try {
    clusterSettings(cluster, only.subnet);
  } catch (err) {
    if (err instanceof IpamError) throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "ipam.${err.field}": ${err.message.replace(`${err.field}: `, '')}`, err.details);
    throw err;
  }
  for (const [field, path] of Object.entries(cluster.tls ?? {})) {
    try {
      accessSync(path, constants.R_OK);
    } catch {
      throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "ipam.cluster.tls.${field}": cannot read ${path}`, 'name a PEM file jailnetd can read (--etcd-ca, --etcd-cert, --etcd-key)');
    }
  }
}

/**
 * The cniVersion `jailnet network create` writes: the newest the common clients accept. libcni
 * 1.1 (Debian's, containerd 1.7's, nerdctl 1.x's) refuses 1.1.0 files ("unsupported CNI result
 * version"); jailnet's own runtime runs GC and STATUS of such files through jailnetd (cli.md).
 */
export const FILE_CNI_VERSION = '1.0.0';

/** The lowest jailnetN bridge name no network file uses yet ("default" gets jailnet0). */
function freeBridgeName(existing: NetworkConfigList[], wanted: NewNetwork): string {
  if (wanted.bridge) return wanted.bridge;
  const used = new Set(existing.flatMap((l) => l.plugins.map((p) => p.bridge)).filter((b): b is string => typeof b === 'string'));
  for (let n = wanted.name === 'default' ? 0 : 1; ; n++) if (!used.has(`jailnet${n}`)) return `jailnet${n}`;
}

export function networkTemplate(paths: CliPaths, existing: NetworkConfigList[], n: NewNetwork, withPortmap: boolean): object {
  const ranges: { subnet: string; gateway?: string }[][] = [[{ subnet: networkCidr(n.subnet), ...(n.gateway ? { gateway: n.gateway } : {}) }]];
  if (n.subnet6) ranges.push([{ subnet: networkCidr(n.subnet6) }]);
  const ipam: Record<string, unknown> = { type: 'jailnet-ipam', ranges, socket: paths.daemonSocket };
  if (n.cluster) ipam.cluster = n.cluster;
  const daemon: Record<string, string> = {};
  if (paths.daemonPath) daemon.path = paths.daemonPath;
  if (paths.daemonStateDir) daemon.stateDir = paths.daemonStateDir;
  if (Object.keys(daemon).length) ipam.daemon = daemon;
  // An internal network has a gateway (the host) but is no way out: no default route, no NAT.
  const bridge: Record<string, unknown> = {
    type: 'bridge',
    bridge: freeBridgeName(existing, n),
    isGateway: true,
    isDefaultGateway: !n.internal,
    ipMasq: !n.internal,
    // --mac, --ip and --name/--alias of jailnet attach (runtimeConfig.mac for the jail end,
    // runtimeConfig.ips for IPAM, runtimeConfig.aliases for the DNS names).
    capabilities: { mac: true, ips: true, aliases: true },
    ipam,
  };
  if (n.mtu) bridge.mtu = n.mtu;
  // The jails' epairs carry the overlay's MTU: the bridge's members must agree, and a jail's
  // full-size packet must fit the vxlan encapsulation.
  if (n.cluster) bridge.mtu = n.cluster.mtu ?? VXLAN_IPV4_MTU;
  const plugins: object[] = [bridge];
  if (withPortmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, socket: paths.daemonSocket });
  // Isolation as nerdctl writes it: the firewall plugin's ingressPolicy, one mechanism for
  // jailnet's files and theirs.
  if (n.isolated) plugins.push({ type: 'firewall', ingressPolicy: 'same-bridge', socket: paths.daemonSocket });
  return { cniVersion: n.cniVersion ?? FILE_CNI_VERSION, name: n.name, plugins };
}

/**
 * Writes a new network file (refusing to replace one), after validating it and checking overlaps
 * with the other network files and with the host's own addresses and routes (`ifconfig` and
 * `netstat -rnW`, src/link/host-conflicts.ts).
 */
export async function createNetwork(paths: CliPaths, n: NewNetwork, withPortmap: boolean): Promise<NetworkConfigList> {
  networkName(n.name);
  if (n.cniVersion !== undefined && !isSupportedVersion(n.cniVersion)) throw new CniError(CniCode.InvalidNetworkConfig, `--cni-version ${n.cniVersion} is not one jailnet's plugins speak`, `use one of ${SUPPORTED_VERSIONS.join(', ')} (GC and STATUS need 1.1.0; libcni before 1.2 refuses 1.1.0)`);
  parseCidr(n.subnet);
  const existing = listNetworks(paths);
  const clash = existing.find((l) => subnetsOf(l).some((s) => overlaps(s, n.subnet) || (n.subnet6 !== undefined && overlaps(s, n.subnet6))));
  if (clash) throw new CniError(CniCode.InvalidNetworkConfig, `subnet ${n.subnet} overlaps network ${clash.name} (${subnetsOf(clash).join(', ')})`, 'choose another --subnet');
  const bytes = Buffer.from(`${JSON.stringify(networkTemplate(paths, existing, n, withPortmap), null, 2)}\n`);
  const list = parseConflist(bytes, `network ${n.name}`);
  validateNetwork(list);
  await requireNoHostConflict(n.name, subnetsOf(list), bridgeOf(list));
  mkdirSync(paths.confDir, { recursive: true, mode: 0o755 });
  let fd: number;
  try {
    fd = openSync(networkPath(paths, n.name), 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CniError(CniCode.InvalidNetworkConfig, `network ${n.name} already exists`, `remove it first with \`jailnet network rm ${n.name}\``);
    throw err;
  }
  writeSync(fd, bytes);
  closeSync(fd);
  return list;
}

export function removeNetworkFile(paths: CliPaths, name: string): void {
  rmSync(networkPath(paths, name));
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (x.family !== y.family) return false;
  const prefix = Math.min(x.prefix, y.prefix);
  const width = BigInt(x.family === 4 ? 32 : 128);
  const shift = width - BigInt(prefix);
  return x.address >> shift === y.address >> shift;
}
