import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from '../cni/errors';
import { listCache } from '../cni/runtime/cache';
import { statusNetworkList } from '../cni/runtime/chain';
import { parseConflist } from '../cni/runtime/conflist';
import { destroyInterface, showInterface } from '../freebsd/ifconfig';
import { flushAnchor } from '../freebsd/pfctl';
import { known } from '../link/known';
import { configureLogging, flushLogs } from '../log/logger';
import { natAnchor } from '../pf/anchors';
import type { Args } from './argv';
import { attach, check, detach, gc, jailnetdOf, runtimeEnv } from './attachments';
import { atLeast } from '../cni/version';
import { defaultVni, type ClusterConfig } from '../cluster/config';
import { doctor } from './doctor';
import { runHookWith } from './hook';
import { bridgeOf, createNetwork, listNetworks, loadNetwork, removeNetworkFile, subnetsOf, validateNetwork } from './networks';
import { print } from './output';
import { cliPaths } from './paths';
import { parsePortSpec } from './ports';

/**
 * The `jailnet` commands that change or check the host: attach, detach, the runj hook, gc,
 * check, doctor, network create/rm/validate/status, plugins install, with the plugins they run
 * in this process. The build embeds this module in the jailnet executable as a string that is
 * compiled on first use (core-loader.ts): the commands that only read files (--help, ps,
 * network ls/inspect) never parse it.
 */

configureLogging({ component: 'jailnet' });

const json = (value: unknown): void => print(`${JSON.stringify(value, null, 2)}\n`);
const str = (a: Args, k: string): string => a[k] as string;
const optStr = (a: Args, k: string): string | undefined => a[k] as string | undefined;
const strs = (a: Args, k: string): string[] => (a[k] as string[] | undefined) ?? [];
const ipsOf = (r: { ips?: { address: string }[] } | undefined) => (r?.ips ?? []).map((ip) => ip.address).join(',');

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export { flushLogs, runHookWith };

/** A thrown value as the CNI error `jailnet` reports (this module's CniError class). */
export const errorOf = (err: unknown): CniError => CniError.from(err);

/** The handlers, by command path (src/cli/commands.ts has their grammar). */
export const handlers: Record<string, (a: Args) => Promise<void>> = {
  async 'network create'(a) {
    const paths = cliPaths();
    const withPortmap = paths.cniPath.some((d) => readdirSafe(d).includes('portmap'));
    const list = await createNetwork(
      paths,
      {
        name: str(a, 'name'),
        subnet: str(a, 'subnet'),
        gateway: optStr(a, 'gateway'),
        subnet6: optStr(a, 'ipv6-subnet'),
        bridge: optStr(a, 'bridge'),
        internal: a.internal === true,
        mtu: a.mtu as number | undefined,
        isolated: a.isolation !== false,
        cniVersion: optStr(a, 'cni-version'),
        ...clusterOption(a),
      },
      withPortmap,
    );
    print(`network ${list.name} created (${subnetsOf(list).join(', ')}, bridge ${bridgeOf(list) ?? '-'})\n`);
  },

  async 'network rm'(a) {
    const paths = cliPaths();
    const list = loadNetwork(paths, str(a, 'name'));
    const users = listCache(paths.cacheDir).filter((c) => c.networkName === list.name);
    if (users.length && !a.force) throw new CniError(CniCode.ResourceConflict, `network ${list.name} has attached jails: ${users.map((u) => u.containerId).join(', ')}`, 'detach them first, or use --force to detach them');
    for (const u of users) await detach(paths, u.containerId, list.name);
    const bridge = bridgeOf(list);
    if (bridge) {
      const info = await showInterface(bridge);
      if (info && info.members.length === 0) {
        known.forgetBridge(bridge);
        await destroyInterface(bridge);
      }
    }
    await flushAnchor(natAnchor(list.name));
    removeNetworkFile(paths, list.name);
    print(`network ${list.name} removed\n`);
  },

  async 'network validate'(a) {
    const files = strs(a, 'files');
    const lists = files.length ? files.map((f) => parseConflist(readFileSync(f), f)) : listNetworks(cliPaths());
    for (const l of lists) validateNetwork(l);
    print(`${lists.length} network file(s) valid\n`);
  },

  async 'network status'(a) {
    const paths = cliPaths();
    const list = loadNetwork(paths, str(a, 'name'));
    if (atLeast(list.cniVersion, '1.1.0')) await statusNetworkList(list, runtimeEnv(paths));
    else {
      // No CNI STATUS before 1.1.0: jailnetd, which serves the network, answers for it.
      const daemon = jailnetdOf(list, process.env);
      if (!daemon) throw new CniError(CniCode.IncompatibleVersion, `network ${str(a, 'name')} is cniVersion ${list.cniVersion}, which has no STATUS, and jailnetd does not serve it`, 'STATUS needs cniVersion 1.1.0');
      await daemon.health();
    }
    print(`network ${str(a, 'name')}: ready\n`);
  },

  async attach(a) {
    const jail = str(a, 'jail');
    const names = [...(a.name !== undefined ? [str(a, 'name')] : []), ...strs(a, 'alias')];
    const req = { jail, networks: strs(a, 'network'), ports: strs(a, 'publish').flatMap((s) => parsePortSpec(s)), ips: strs(a, 'ip'), mac: optStr(a, 'mac'), names };
    const done = await attach(cliPaths(), req);
    if (a.json) return json(done);
    for (const d of done) print(`${jail} ${d.ifname} on ${d.network}: ${ipsOf(d.result)}\n`);
  },

  async detach(a) {
    const jail = str(a, 'jail');
    const gone = await detach(cliPaths(), jail, optStr(a, 'network'));
    print(gone.length ? `${jail} detached from ${gone.join(', ')}\n` : `${jail} was not attached${a.network ? ` to ${str(a, 'network')}` : ''}\n`);
  },

  async check(a) {
    const all = await check(cliPaths(), str(a, 'jail'));
    print(`${str(a, 'jail')}: ${all.length} attachment(s) as expected\n`);
  },

  async gc() {
    const r = await gc(cliPaths());
    print(`gc: ${r.detached.length} attachment(s) of vanished jails detached\n`);
  },

  async doctor(a) {
    const findings = await doctor(cliPaths());
    if (a.json) json(findings);
    else print(findings.map((f) => `${f.verdict.padEnd(4)}  ${f.check}: ${f.detail}${f.fix ? `\n      fix: ${f.fix}` : ''}`).join('\n') + '\n');
    if (findings.some((f) => f.verdict === 'fail')) process.exitCode = 1;
  },

  async 'plugins install'(a) {
    const dir = str(a, 'dir');
    const paths = cliPaths();
    const from = paths.cniPath.find((d) => readdirSafe(d).includes('bridge') && d !== dir);
    if (!from) throw new CniError(CniCode.IoFailure, 'no directory with jailnet plugins found', 'build first (npm run build)');
    mkdirSync(dir, { recursive: true });
    const names = readdirSafe(from).filter((f) => !f.endsWith('.map'));
    for (const f of names) copyFileSync(join(from, f), join(dir, f));
    print(`installed ${names.join(', ')} into ${dir}\n`);
  },
};

/** The `cluster` object `network create` writes, from its flags (checked with the whole file before it is written). */
function clusterOption(a: Args): { cluster?: ClusterConfig } {
  const given = ['etcd-endpoints', 'etcd-ca', 'etcd-cert', 'etcd-key', 'etcd-prefix', 'vni', 'underlay', 'block-prefix'].filter((f) => a[f] !== undefined);
  if (a.cluster !== true) {
    if (given.length) throw new CniError(CniCode.InvalidNetworkConfig, `--${given[0] as string} is for cluster networks`, 'add --cluster');
    return {};
  }
  const endpoints = (optStr(a, 'etcd-endpoints') ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new CniError(CniCode.InvalidNetworkConfig, '--cluster needs --etcd-endpoints', 'e.g. --etcd-endpoints https://10.0.0.11:2379,https://10.0.0.12:2379,https://10.0.0.13:2379');
  const cluster: ClusterConfig = { endpoints, vni: (a.vni as number | undefined) ?? defaultVni(str(a, 'name')) };
  const ca = optStr(a, 'etcd-ca');
  const cert = optStr(a, 'etcd-cert');
  const key = optStr(a, 'etcd-key');
  if (ca !== undefined || cert !== undefined || key !== undefined) {
    if (ca === undefined) throw new CniError(CniCode.InvalidNetworkConfig, '--etcd-cert and --etcd-key need --etcd-ca', "name the CA that signed etcd's certificates");
    cluster.tls = { ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
  }
  if (a['etcd-prefix'] !== undefined) cluster.prefix = str(a, 'etcd-prefix');
  if (a.underlay !== undefined) cluster.underlay = str(a, 'underlay');
  if (a['block-prefix'] !== undefined) cluster.blockPrefix = a['block-prefix'] as number;
  if (a.mtu !== undefined) cluster.mtu = a.mtu as number;
  return { cluster };
}
