import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from '../cni/errors';
import { loadConflist, type NetworkConfigList } from '../cni/runtime/conflist';
import { networkName } from '../freebsd/names';
import type { CliPaths } from './paths';

/**
 * Network files, <confDir>/<name>.conflist, as everything reads them: found, parsed, and the
 * facts `jailnet` shows (subnets, bridge). Apart from networks.ts (creating and validating), so
 * that `jailnet network ls` loads no plugin code.
 */

export const CONFLIST_SUFFIX = '.conflist';

export function networkPath(paths: CliPaths, name: string): string {
  return join(paths.confDir, `${networkName(name)}${CONFLIST_SUFFIX}`);
}

export function listNetworks(paths: CliPaths): NetworkConfigList[] {
  let files: string[];
  try {
    files = readdirSync(paths.confDir).filter((f) => f.endsWith(CONFLIST_SUFFIX)).sort();
  } catch {
    return [];
  }
  return files.map((f) => loadConflist(join(paths.confDir, f)));
}

export function loadNetwork(paths: CliPaths, name: string): NetworkConfigList {
  const path = networkPath(paths, name);
  try {
    return loadConflist(path);
  } catch (err) {
    if (err instanceof CniError && err.code === CniCode.IoFailure) {
      throw new CniError(CniCode.InvalidNetworkConfig, `network ${name} does not exist (no ${path})`, 'create it with `jailnet network create`, or list them with `jailnet network ls`');
    }
    throw err;
  }
}

/** The subnets a network's IPAM hands out from. */
export function subnetsOf(list: NetworkConfigList): string[] {
  return list.plugins.flatMap((p) => {
    const ipam = p.ipam as { ranges?: { subnet: string }[][]; subnet?: string } | undefined;
    return [...(ipam?.ranges?.flat().map((r) => r.subnet) ?? []), ...(ipam?.subnet ? [ipam.subnet] : [])];
  });
}

/** The bridge of a network, if its first plugin is bridge. */
export function bridgeOf(list: NetworkConfigList): string | undefined {
  const b = list.plugins.find((p) => p.type === 'bridge');
  return b ? ((b.bridge as string | undefined) ?? 'jailnet0') : undefined;
}
