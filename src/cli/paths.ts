import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_SOCKET } from '../ipam/socket';

/**
 * Where the `jailnet` command finds and keeps things (hier(7)); each can be moved with an
 * environment variable, which is how the demo and the tests run it on the emulated host.
 */
export interface CliPaths {
  /** Network files (<name>.conflist). JAILNET_CONF_DIR. */
  confDir: string;
  /** libcni-format result cache. JAILNET_CACHE_DIR. */
  cacheDir: string;
  /** CNI plugin directories. JAILNET_CNI_PATH, else CNI_PATH, else this package's plugins and /usr/local/libexec/cni. */
  cniPath: string[];
  /** jailnetd's socket, written into new network files. JAILNETD_SOCKET. */
  daemonSocket: string;
  /** jailnetd's state dir and executable, written into new network files when set. JAILNETD_STATE_DIR, JAILNETD_PATH. */
  daemonStateDir?: string;
  daemonPath?: string;
}

export const DEFAULT_CONF_DIR = '/usr/local/etc/jailnet/networks';
export const DEFAULT_CACHE_DIR = '/var/db/jailnet/cache';
export const SYSTEM_CNI_DIR = '/usr/local/libexec/cni';

/** dist/cni next to this bundle (dist/bin/jailnet), when it exists. */
function bundledPluginDir(): string | undefined {
  const dir = join(dirname(__filename), '..', 'cni');
  return existsSync(join(dir, 'bridge')) ? dir : undefined;
}

function bundledDaemon(): string | undefined {
  const path = join(dirname(__filename), 'jailnetd');
  return existsSync(path) ? path : undefined;
}

export function cliPaths(env: NodeJS.ProcessEnv = process.env): CliPaths {
  const cniPathText = env.JAILNET_CNI_PATH || env.CNI_PATH;
  const cniPath = cniPathText ? cniPathText.split(':').filter(Boolean) : [bundledPluginDir(), SYSTEM_CNI_DIR].filter((d): d is string => d !== undefined);
  const paths: CliPaths = {
    confDir: env.JAILNET_CONF_DIR || DEFAULT_CONF_DIR,
    cacheDir: env.JAILNET_CACHE_DIR || DEFAULT_CACHE_DIR,
    cniPath,
    daemonSocket: env.JAILNETD_SOCKET || DEFAULT_SOCKET,
  };
  if (env.JAILNETD_STATE_DIR) paths.daemonStateDir = env.JAILNETD_STATE_DIR;
  const daemon = env.JAILNETD_PATH || bundledDaemon();
  if (daemon) paths.daemonPath = daemon;
  return paths;
}
