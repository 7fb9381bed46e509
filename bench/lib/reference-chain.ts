import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pidAlive, runTempDir } from './run-dirs';

/**
 * The baseline: the reference CNI plugins as Debian packages them (containernetworking-plugins:
 * bridge, host-local, portmap, in Go; portmap and bridge's ipMasq run iptables) driven by the
 * same libcni client as jailnet's plugins, on Linux namespaces this module makes and removes:
 * a "host" namespace (the bridge, the iptables rules, the client runs there through nsenter) and
 * a "container" one. host-local keeps its leases and libcni its cache in a temp dir; nothing is
 * written outside the namespaces and that dir.
 */

export const REFERENCE_PLUGIN_DIR = '/usr/lib/cni';
export const REFERENCE_PLUGINS = ['bridge', 'host-local', 'portmap'] as const;
const IP = '/usr/sbin/ip';
const NSENTER = '/usr/bin/nsenter';
export const IPTABLES = '/usr/sbin/iptables';
/** Namespace prefix; the creator's pid follows, so leftovers of dead runs are found. */
const PREFIX = 'jnbref-';

export interface ReferenceChain {
  hostNs: string;
  containerNs: string;
  dir: string;
  conflist: string;
  /** host-local's lease directory of the network. */
  leaseDir: string;
  cacheDir: string;
  /** argv of the libcni client for `add` or `del` of the one container, run in the host namespace. */
  argv(command: 'add' | 'del'): string[];
  env(pluginDir?: string, extraPath?: string): NodeJS.ProcessEnv;
  /** What the host namespace holds (links, iptables rules) and host-local's leases, for leak checks. */
  snapshot(): { links: string[]; iptablesRules: number; leases: string[]; cached: string[] };
  remove(): void;
}

export function referenceMissing(): string | undefined {
  for (const p of REFERENCE_PLUGINS) if (!existsSync(join(REFERENCE_PLUGIN_DIR, p))) return `${join(REFERENCE_PLUGIN_DIR, p)} is missing: apt-get install containernetworking-plugins iptables (scripts/install-deps.sh does)`;
  if (!existsSync(IPTABLES)) return `${IPTABLES} is missing: apt-get install iptables (scripts/install-deps.sh does)`;
  return undefined;
}

function removeStale(): void {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const ns of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns);
    if (m && !pidAlive(Number(m[1]))) execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

/**
 * The same shape as jailnet's default network: bridge with gateway, default route and NAT
 * (ipMasq), IPAM from a /16, and portmap for published ports.
 */
export function createReferenceChain(libcniClient: string, subnet: string, portMapping: { hostPort: number; containerPort: number; protocol: string }): ReferenceChain {
  removeStale();
  const id = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const hostNs = `${id}-h`;
  const containerNs = `${id}-c`;
  const dir = runTempDir('jailnet-bench-ref-');
  const leaseRoot = join(dir, 'host-local');
  const cacheDir = join(dir, 'cache');
  mkdirSync(leaseRoot);
  const remove = () => {
    for (const ns of [hostNs, containerNs]) {
      try {
        execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* not made or gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', remove);
  try {
    execFileSync(IP, ['netns', 'add', hostNs], { stdio: 'ignore' });
    execFileSync(IP, ['netns', 'add', containerNs], { stdio: 'ignore' });
    execFileSync(IP, ['-n', hostNs, 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
  } catch (err) {
    remove();
    throw err;
  }
  const name = 'refnet';
  const conflist = join(dir, `${name}.conflist`);
  writeFileSync(
    conflist,
    JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [
        { type: 'bridge', bridge: 'cni0', isGateway: true, isDefaultGateway: true, ipMasq: true, ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: leaseRoot } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  const caps = JSON.stringify({ portMappings: [portMapping] });
  const leaseDir = join(leaseRoot, name);
  const listDir = (d: string) => (existsSync(d) ? readdirSync(d, { recursive: true }).map(String).sort() : []);
  return {
    hostNs,
    containerNs,
    dir,
    conflist,
    leaseDir,
    cacheDir,
    argv: (command) => [NSENTER, `--net=/run/netns/${hostNs}`, libcniClient, command, conflist, 'ctr', `/run/netns/${containerNs}`, 'eth0', caps],
    env: (pluginDir = REFERENCE_PLUGIN_DIR, extraPath) => ({
      PATH: `${extraPath ? `${extraPath}:` : ''}/usr/sbin:/usr/bin:/sbin:/bin`,
      CNI_PATH: pluginDir,
      CNI_CACHE_DIR: cacheDir,
    }),
    snapshot: () => {
      const links = execFileSync(IP, ['-n', hostNs, '-br', 'link'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0] as string)
        .sort();
      const rules = execFileSync(IP, ['netns', 'exec', hostNs, `${IPTABLES}-save`], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('-A ')).length;
      // host-local keeps one file per leased address, plus last_reserved_ip.N and lock.
      const leases = listDir(leaseDir).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock');
      return { links, iptablesRules: rules, leases, cached: listDir(join(cacheDir, 'results')) };
    },
    remove,
  };
}
