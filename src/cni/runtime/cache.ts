import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '../types';

/**
 * The result cache, in libcni's format and place (`<dir>/results/<network>-<containerID>-<ifname>`,
 * kind cniCacheV1), so that jailnet and libcni-based runtimes (nerdctl, containerd, podman)
 * read each other's entries. DEL and CHECK take prevResult and the configuration from here.
 */

export interface CachedAttachment {
  kind: 'cniCacheV1';
  containerId: string;
  /** The network file as it was at ADD, base64. */
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result?: Result;
}

function resultsDir(cacheDir: string): string {
  return join(cacheDir, 'results');
}

export function cachePath(cacheDir: string, network: string, containerId: string, ifname: string): string {
  return join(resultsDir(cacheDir), `${network}-${containerId}-${ifname}`);
}

export function writeCache(cacheDir: string, entry: CachedAttachment): void {
  mkdirSync(resultsDir(cacheDir), { recursive: true, mode: 0o700 });
  const path = cachePath(cacheDir, entry.networkName, entry.containerId, entry.ifName);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
  renameSync(tmp, path);
}

export function readCache(cacheDir: string, network: string, containerId: string, ifname: string): CachedAttachment | undefined {
  try {
    return JSON.parse(readFileSync(cachePath(cacheDir, network, containerId, ifname), 'utf8')) as CachedAttachment;
  } catch {
    return undefined;
  }
}

export function deleteCache(cacheDir: string, network: string, containerId: string, ifname: string): void {
  rmSync(cachePath(cacheDir, network, containerId, ifname), { force: true });
}

/** Every cached attachment (entries that cannot be read are skipped). */
export function listCache(cacheDir: string): CachedAttachment[] {
  let names: string[];
  try {
    names = readdirSync(resultsDir(cacheDir));
  } catch {
    return [];
  }
  const out: CachedAttachment[] = [];
  for (const name of names) {
    if (name.endsWith('.tmp')) continue;
    try {
      const entry = JSON.parse(readFileSync(join(resultsDir(cacheDir), name), 'utf8')) as CachedAttachment;
      if (entry.kind === 'cniCacheV1') out.push(entry);
    } catch {
      /* not ours or torn: skip */
    }
  }
  return out;
}
