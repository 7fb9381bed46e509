import { isIP } from 'node:net';
import { CniCode, CniError, runAll } from '../cni/errors';
import { listCache, type CachedAttachment } from '../cni/runtime/cache';
import { addNetworkList, checkNetworkList, delNetworkList, gcNetworkList, pluginConfig, type RuntimeConf, type RuntimeEnv } from '../cni/runtime/chain';
import { atLeast } from '../cni/version';
import { firewallClient, type FirewallClient } from '../firewall/client';
import { ipamOfJailnetd } from '../ipam/plugin-config';
import { linkJailnetd, type LinkConf } from '../link/config';
import { parseConflist, type NetworkConfigList } from '../cni/runtime/conflist';
import type { Result } from '../cni/types';
import { listJails } from '../freebsd/jail';
import { jailName } from '../freebsd/names';
import { log } from '../log/logger';
import { inSubnet } from '../net/cidr';
import { withFileLock } from '../util/file-lock';
import { listNetworks, loadNetwork, subnetsOf } from './networks';
import type { CliPaths } from './paths';
import { describeReadiness, pfReadiness, type PfHook } from '../pf/status';
import { capabilityMapping, formatPort, type PortMapping } from './ports';
import { IN_PROCESS_PLUGINS } from './in-process';

/**
 * Jails on networks: what `jailnet attach/detach/check/ps/gc` and the runj hooks do, through
 * the same chain runner and cache as any libcni runtime. The container ID is the jail's name
 * (as with runj); the jail's interfaces are eth0, eth1... in the order of the networks.
 */

export interface AttachRequest {
  jail: string;
  networks: string[];
  /** Published once: on the mapping's `network`, else on the first network. */
  ports: PortMapping[];
  /** Static addresses (capability `ips`), each to the network whose subnet holds it. */
  ips?: string[];
  mac?: string;
  /** DNS names besides the jail's own, on every network (the aliases capability; docs/dns.md). */
  names?: string[];
  /**
   * The jail is as jail(2) made it (runj's createRuntime: OCI status "creating"): its first
   * network's ADD gets CNI_ARGS JailnetNewJail=1 (src/link/args.ts) when the jail has no
   * attachment yet.
   */
  newJail?: boolean;
}

/** What one network of an attach gets: its own share of the ports and addresses. */
interface NetworkShare {
  list: NetworkConfigList;
  ports: PortMapping[];
  ips: string[];
}

export interface Attached {
  network: string;
  ifname: string;
  result: Result;
}

/** Whose chain this process runs: the caller's environment, and whether logging is shared (jailnetd). */
export interface Caller {
  env: NodeJS.ProcessEnv;
  keepLogging?: boolean;
}

/** jailnet's own plugins run in this process (one process per command: src/cli/in-process.ts), any other as its executable. */
export function runtimeEnv(paths: CliPaths, caller: Caller = { env: process.env }): RuntimeEnv {
  return { cniPath: paths.cniPath, cacheDir: paths.cacheDir, env: caller.env, inProcess: IN_PROCESS_PLUGINS, ...(caller.keepLogging ? { keepLogging: true } : {}) };
}

/**
 * attach, detach and gc of this command run one at a time on a host: gc must not take an
 * attachment whose ADD is under way (its cache entry not written yet) for a stale one.
 */
function exclusively<T>(paths: CliPaths, fn: () => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return withFileLock('jailnet-runtime', fn, { env, timeoutMs: 600_000 });
}

/**
 * Splits ports and addresses between the networks, refusing before anything changes what no
 * network can take: a port goes to the network it names (one of the jail's) or to the first; an
 * address to the one network whose subnets hold it.
 */
function shareOut(lists: NetworkConfigList[], req: AttachRequest): NetworkShare[] {
  const shares = lists.map((list): NetworkShare => ({ list, ports: [], ips: [] }));
  const names = lists.map((l) => l.name).join(', ');
  for (const p of req.ports) {
    const share = p.network === undefined ? shares[0] : shares.find((s) => s.list.name === p.network);
    if (!share) throw new CniError(CniCode.InvalidNetworkConfig, `-p ${formatPort(p)}: network ${p.network} is not one jail ${req.jail} joins (${names})`, 'name one of the networks given with -n, or leave @NETWORK out to publish on the first');
    share.ports.push(p);
  }
  for (const ip of req.ips ?? []) {
    const address = ip.split('/')[0] as string;
    if (isIP(address) === 0) throw new CniError(CniCode.InvalidNetworkConfig, `--ip ${ip} is not an IP address`);
    const holders = shares.filter((s) => subnetsOf(s.list).some((subnet) => inSubnet(address, subnet)));
    if (holders.length !== 1) {
      const ranges = shares.map((s) => `${s.list.name} ${subnetsOf(s.list).join(' ') || '(no subnet)'}`).join('; ');
      throw new CniError(
        CniCode.InvalidNetworkConfig,
        holders.length === 0 ? `--ip ${ip} is in no subnet of the networks jail ${req.jail} joins (${ranges})` : `--ip ${ip} is in the subnets of several networks (${holders.map((h) => h.list.name).join(', ')})`,
        'give an address of one network\'s subnet; each --ip goes to the network whose subnet holds it',
      );
    }
    holders[0]?.ips.push(ip);
  }
  return shares;
}

/** Refuses runtime arguments that no plugin of the network takes (they would be dropped silently). */
function checkCapabilities(share: NetworkShare, req: AttachRequest): void {
  const list = share.list;
  const wanted = { portMappings: share.ports.length > 0, ips: share.ips.length > 0, mac: Boolean(req.mac), aliases: Boolean(req.names?.length) };
  const flag = { portMappings: '-p', ips: '--ip', mac: '--mac', aliases: '--name/--alias' } as const;
  for (const [capability, asked] of Object.entries(wanted) as [keyof typeof flag, boolean][]) {
    if (asked && !list.plugins.some((p) => p.capabilities?.[capability])) {
      throw new CniError(CniCode.InvalidNetworkConfig, `network ${list.name} cannot take ${flag[capability]}: none of its plugins declares the "${capability}" capability`, capability === 'portMappings' ? 'add {"type": "portmap", "capabilities": {"portMappings": true}} to the network' : `add "capabilities": {"${capability}": true} to its bridge or epair plugin`);
    }
  }
}

/**
 * What pf must carry for these attachments: NAT (ipMasq of a link plugin, the nat plugin),
 * redirects (portmap with ports to publish) and filter rules (the firewall plugin with a policy
 * other than open).
 */
function pfKindsNeeded(shares: readonly NetworkShare[]): PfHook[] {
  const kinds = new Set<PfHook>();
  for (const { list, ports } of shares) {
    for (const p of list.plugins) {
      if (p.type === 'nat' || (p.ipMasq === true && (p.type === 'bridge' || p.type === 'epair'))) kinds.add('nat-anchor');
      if (p.type === 'portmap' && ports.length > 0) {
        kinds.add('nat-anchor');
        kinds.add('rdr-anchor');
      }
      if (p.type === 'firewall' && p.ingressPolicy !== undefined && p.ingressPolicy !== '' && p.ingressPolicy !== 'open') kinds.add('anchor');
    }
  }
  return [...kinds];
}

/**
 * Readiness before ADD (issue 10.15): a jail attached while pf is off, or while the main
 * ruleset lacks jailnet's hooks, would get no NAT and no published ports without a word. The
 * CLI and the hook refuse instead, saying which lines pf.conf needs; nothing has changed yet.
 */
async function requirePfReady(shares: readonly NetworkShare[]): Promise<void> {
  const hooks = pfKindsNeeded(shares);
  if (hooks.length === 0) return;
  const problem = describeReadiness(await pfReadiness(hooks), `cannot attach: ${shares.map((s) => s.list.name).join(', ')} need${shares.length === 1 ? 's' : ''} pf`);
  if (problem) throw new CniError(CniCode.NotAvailable, problem.message, problem.fix);
}

/** Attaches a jail to each network in turn; if one fails, the ones done are detached again. */
export async function attach(paths: CliPaths, req: AttachRequest, caller: Caller = { env: process.env }): Promise<Attached[]> {
  jailName(req.jail);
  const lists = req.networks.map((n) => loadNetwork(paths, n));
  const shares = shareOut(lists, req);
  for (const share of shares) checkCapabilities(share, req);
  await requirePfReady(shares);
  return exclusively(paths, () => attachNetworks(paths, req, shares, runtimeEnv(paths, caller)), caller.env);
}

async function attachNetworks(paths: CliPaths, req: AttachRequest, shares: NetworkShare[], env: RuntimeEnv): Promise<Attached[]> {
  const taken = new Set(listCache(paths.cacheDir).filter((c) => c.containerId === req.jail).map((c) => c.ifName));
  const done: { rt: RuntimeConf; list: NetworkConfigList; result: Result }[] = [];
  let next = 0;
  try {
    for (const { list, ports, ips } of shares) {
      if (listCache(paths.cacheDir).some((c) => c.containerId === req.jail && c.networkName === list.name)) {
        throw new CniError(CniCode.ResourceConflict, `jail ${req.jail} is already attached to network ${list.name}`, `detach it first: jailnet detach ${req.jail} --network ${list.name}`);
      }
      while (taken.has(`eth${next}`)) next++;
      const ifname = `eth${next++}`;
      const capabilityArgs: Record<string, unknown> = { portMappings: ports.map(capabilityMapping) };
      if (ips.length) capabilityArgs.ips = ips;
      if (req.mac) capabilityArgs.mac = req.mac;
      if (req.names?.length) capabilityArgs.aliases = [...req.names];
      const rt: RuntimeConf = { containerId: req.jail, netns: req.jail, ifname, capabilityArgs };
      // Only the first ADD of a jail nothing is attached to: after it, the jail is no longer new.
      // IgnoreUnknown: a chain may hold plugins that do not know the key (the reference plugins).
      if (req.newJail && taken.size === 0 && done.length === 0) rt.args = [['IgnoreUnknown', '1'], ['JailnetNewJail', '1']];
      try {
        done.push({ rt, list, result: await addNetworkList(list, rt, env) });
      } catch (err) {
        // The plugins undo their own failed ADD; the ones before them in the chain are undone here.
        await delNetworkList(list, rt, env).catch((e: unknown) => log.warn(`cleanup after a failed ADD: ${(e as Error).message}`));
        throw CniError.from(err, `attaching ${req.jail} to ${list.name}`);
      }
    }
  } catch (err) {
    for (const d of done.reverse()) await delNetworkList(d.list, d.rt, env, d.result).catch((e: unknown) => log.warn(`cleanup: ${(e as Error).message}`));
    throw err;
  }
  return done.map((d) => ({ network: d.list.name, ifname: d.rt.ifname, result: d.result }));
}

/** Cached attachments of a jail (all of them, or one network's). */
export function attachmentsOf(paths: CliPaths, jail: string, network?: string): CachedAttachment[] {
  return listCache(paths.cacheDir).filter((c) => (c.containerId === jail || c.netns === jail) && (!network || c.networkName === network));
}

/**
 * Detaches a jail, with the network file as it was at ADD (cached), so it works after the
 * network file changed or went, and after the jail is gone (runj's poststop).
 */
export function detach(paths: CliPaths, jail: string, network?: string, caller: Caller = { env: process.env }): Promise<string[]> {
  return exclusively(paths, () => detachUnlocked(paths, jail, network, runtimeEnv(paths, caller)), caller.env);
}

async function detachUnlocked(paths: CliPaths, jail: string, network: string | undefined, env: RuntimeEnv): Promise<string[]> {
  const gone: string[] = [];
  for (const c of attachmentsOf(paths, jail, network).sort((a, b) => b.ifName.localeCompare(a.ifName))) {
    const list = parseConflist(Buffer.from(c.config, 'base64'), `cached configuration of ${c.networkName}`);
    await delNetworkList(list, { containerId: c.containerId, netns: c.netns ?? '', ifname: c.ifName, args: c.cniArgs ?? [], capabilityArgs: c.capabilityArgs ?? {} }, env, c.result);
    gone.push(c.networkName);
  }
  return gone;
}

export async function check(paths: CliPaths, jail: string): Promise<CachedAttachment[]> {
  const env = runtimeEnv(paths);
  const all = attachmentsOf(paths, jail);
  if (!all.length) throw new CniError(CniCode.UnknownContainer, `jail ${jail} is not attached to any network`);
  for (const c of all) {
    const list = parseConflist(Buffer.from(c.config, 'base64'), `cached configuration of ${c.networkName}`);
    await checkNetworkList(list, { containerId: c.containerId, netns: c.netns ?? '', ifname: c.ifName, capabilityArgs: c.capabilityArgs ?? {} }, env).catch((err: unknown) => {
      throw CniError.from(err, `${jail} on ${c.networkName}`);
    });
  }
  return all;
}

/**
 * jailnetd's firewall client for a network whose state it holds (its IPAM is jailnet-ipam or
 * host-local, or it masquerades), found as the network's link plugin finds it. A file older
 * than cniVersion 1.1.0 has no CNI GC or STATUS: jailnet's own runtime asks jailnetd directly.
 */
export function jailnetdOf(list: NetworkConfigList, env: NodeJS.ProcessEnv): FirewallClient | undefined {
  const link = list.plugins.find((p) => p.type === 'bridge' || p.type === 'epair');
  if (!link) return undefined;
  const conf = pluginConfig(list, link, { containerId: '', netns: '', ifname: '' }) as unknown as LinkConf;
  if (!conf.ipMasq && !ipamOfJailnetd(conf)) return undefined;
  return firewallClient(linkJailnetd(conf), env);
}

/**
 * Garbage collection: detaches what is cached for jails that no longer exist, then runs CNI GC
 * on every network with the attachments that remain, so plugins and IPAM drop anything else.
 */
export function gc(paths: CliPaths): Promise<{ detached: CachedAttachment[] }> {
  return exclusively(paths, async () => {
    // The cache first, then the jails: a jail created in between is not mistaken for a vanished one.
    const cached = listCache(paths.cacheDir);
    const running = new Set((await listJails()).flatMap((j) => [j.name, String(j.jid)]));
    const env = runtimeEnv(paths);
    const detached: CachedAttachment[] = [];
    await runAll([
      ...cached
        .filter((c) => !running.has(c.netns ?? c.containerId))
        .map((c) => async () => {
          const list = parseConflist(Buffer.from(c.config, 'base64'), `cached configuration of ${c.networkName}`);
          await delNetworkList(list, { containerId: c.containerId, netns: c.netns ?? '', ifname: c.ifName, capabilityArgs: c.capabilityArgs ?? {} }, env, c.result);
          detached.push(c);
        }),
      // Then CNI GC with what remains. Only jailnet's own cache counts: a network that other
      // runtimes also use (nerdctl, containerd) must not be collected here (docs/cli.md).
      ...listNetworks(paths).map((list) => async () => {
        const valid = listCache(paths.cacheDir)
          .filter((c) => c.networkName === list.name)
          .map((c) => ({ containerID: c.containerId, ifname: c.ifName }));
        if (atLeast(list.cniVersion, '1.1.0')) await gcNetworkList(list, valid, env);
        else await jailnetdOf(list, env.env)?.gc(list.name, valid);
      }),
    ]);
    return { detached };
  });
}
