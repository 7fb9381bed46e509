import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { loadBridgeConfig } from '../bridge/config';
import { CniCode, CniError } from '../cni/errors';
import { parseConflist, type NetworkConfigList } from '../cni/runtime/conflist';
import { bridgeOf, listNetworks, networkPath, subnetsOf } from './network-files';
import { pluginConfig } from '../cni/runtime/chain';
import { loadEpairConfig } from '../epair/config';
import { networkName } from '../freebsd/names';
import { parseIpamConfig, requireUsableRanges } from '../ipam/plugin-config';
import { requireNoHostConflict } from '../link/host-conflicts';
import { networkCidr, parseCidr } from '../net/cidr';
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
      const ipam = conf.ipam as { type?: string } | undefined;
      if (ipam?.type === 'jailnet-ipam') requireUsableRanges(parseIpamConfig(conf).settings);
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
}

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
  const plugins: object[] = [bridge];
  if (withPortmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, socket: paths.daemonSocket });
  return { cniVersion: '1.1.0', name: n.name, plugins };
}

/**
 * Writes a new network file (refusing to replace one), after validating it and checking overlaps
 * with the other network files and with the host's own addresses and routes (`ifconfig` and
 * `netstat -rnW`, src/link/host-conflicts.ts).
 */
export async function createNetwork(paths: CliPaths, n: NewNetwork, withPortmap: boolean): Promise<NetworkConfigList> {
  networkName(n.name);
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
