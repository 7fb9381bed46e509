import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { CniCode, CniError } from '../cni/errors';
import { listCache } from '../cni/runtime/cache';
import { statusNetworkList } from '../cni/runtime/chain';
import { parseConflist } from '../cni/runtime/conflist';
import { destroyInterface, showInterface } from '../freebsd/ifconfig';
import { flushAnchor } from '../freebsd/pfctl';
import { natAnchor } from '../pf/anchors';
import { attach, check, detach, gc, jailnetdOf, runtimeEnv } from './attachments';
import { atLeast } from '../cni/version';
import { doctor } from './doctor';
import { runHook } from './hook';
import { defaultVni, type ClusterConfig } from '../cluster/config';
import { bridgeOf, createNetwork, listNetworks, loadNetwork, removeNetworkFile, subnetsOf, validateNetwork } from './networks';
import { table } from './output';
import { cliPaths, SYSTEM_CNI_DIR } from './paths';
import { formatPort, parsePortSpec, type PortMapping } from './ports';

/** The `jailnet` command line (yargs): one builder per command, the work in the modules it calls. */

const print = (text: string): void => {
  process.stdout.write(text);
};
const json = (value: unknown): void => print(`${JSON.stringify(value, null, 2)}\n`);
const ports = (specs: readonly string[] | undefined): PortMapping[] => (specs ?? []).flatMap((s) => parsePortSpec(String(s)));
const ipsOf = (r: { ips?: { address: string }[] } | undefined) => (r?.ips ?? []).map((ip) => ip.address).join(',');

function networkCommands(y: Argv): Argv {
  const paths = cliPaths();
  return y
    .command(['ls', 'list'], 'list networks', (a) => a.option('json', { type: 'boolean' }), (a) => {
      const lists = listNetworks(paths);
      if (a.json) return json(lists.map((l) => ({ name: l.name, cniVersion: l.cniVersion, bridge: bridgeOf(l), subnets: subnetsOf(l), plugins: l.plugins.map((p) => p.type) })));
      print(table(['NAME', 'BRIDGE', 'SUBNETS', 'PLUGINS'], lists.map((l) => [l.name, bridgeOf(l) ?? '-', subnetsOf(l).join(','), l.plugins.map((p) => p.type).join(',')])));
    })
    .command('inspect <name>', 'show a network file', (a) => a.positional('name', { type: 'string', demandOption: true }), (a) => {
      print(`${loadNetwork(paths, a.name).bytes.toString('utf8').trimEnd()}\n`);
    })
    .command(
      'create <name>',
      'create a network file (bridge, jailnet-ipam, NAT, published ports)',
      (a) =>
        a
          .positional('name', { type: 'string', demandOption: true })
          .option('subnet', { type: 'string', demandOption: true, describe: 'IPv4 subnet, e.g. 10.88.0.0/16' })
          .option('gateway', { type: 'string', describe: 'gateway address (default: the first host)' })
          .option('ipv6-subnet', { type: 'string', describe: 'IPv6 subnet for dual stack' })
          .option('bridge', { type: 'string', describe: 'bridge name (default: jailnetN)' })
          .option('internal', { type: 'boolean', default: false, describe: 'no NAT to the outside' })
          .option('isolation', { type: 'boolean', default: true, describe: 'jails of other networks cannot open connections to this one (--no-isolation opens it)' })
          .option('cni-version', { type: 'string', describe: 'cniVersion of the file (default 1.0.0, which libcni 1.1 clients accept)' })
          .option('mtu', { type: 'number' })
          .option('cluster', { type: 'boolean', default: false, describe: 'a network across hosts, on etcd and vxlan (docs/cluster.md)' })
          .option('etcd-endpoints', { type: 'string', describe: 'cluster: etcd client URLs, comma-separated' })
          .option('etcd-ca', { type: 'string', describe: "cluster: CA of etcd's certificates" })
          .option('etcd-cert', { type: 'string', describe: "cluster: this host's client certificate" })
          .option('etcd-key', { type: 'string', describe: "cluster: this host's client key" })
          .option('etcd-prefix', { type: 'string', describe: 'cluster: key prefix [default: /jailnet]' })
          .option('vni', { type: 'number', describe: 'cluster: VXLAN network identifier [default: from the name]' })
          .option('underlay', { type: 'string', describe: "cluster: this host's underlay address or interface [default: the default route's]" })
          .option('block-prefix', { type: 'number', describe: 'cluster: prefix length of the address blocks hosts claim [default: 26]' }),
      async (a) => {
        const withPortmap = paths.cniPath.some((d) => readdirSafe(d).includes('portmap'));
        const list = await createNetwork(paths, { name: a.name, subnet: a.subnet, gateway: a.gateway, subnet6: a['ipv6-subnet'], bridge: a.bridge, internal: a.internal, mtu: a.mtu, isolated: a.isolation, cniVersion: a['cni-version'], ...clusterOption(a) }, withPortmap);
        print(`network ${list.name} created (${subnetsOf(list).join(', ')}, bridge ${bridgeOf(list) ?? '-'})\n`);
      },
    )
    .command(['rm <name>', 'remove <name>'], 'remove a network (its bridge and NAT anchor too)', (a) => a.positional('name', { type: 'string', demandOption: true }).option('force', { type: 'boolean', default: false }), async (a) => {
      const list = loadNetwork(paths, a.name);
      const users = listCache(paths.cacheDir).filter((c) => c.networkName === list.name);
      if (users.length && !a.force) throw new CniError(CniCode.ResourceConflict, `network ${list.name} has attached jails: ${users.map((u) => u.containerId).join(', ')}`, 'detach them first, or use --force to detach them');
      for (const u of users) await detach(paths, u.containerId, list.name);
      const bridge = bridgeOf(list);
      if (bridge) {
        const info = await showInterface(bridge);
        if (info && info.members.length === 0) await destroyInterface(bridge);
      }
      await flushAnchor(natAnchor(list.name));
      removeNetworkFile(paths, list.name);
      print(`network ${list.name} removed\n`);
    })
    .command('validate [files..]', 'validate network files (all of them by default)', (a) => a.positional('files', { type: 'string', array: true }), (a) => {
      const lists = a.files?.length ? a.files.map((f) => parseConflist(readFileSync(f), f)) : listNetworks(paths);
      for (const l of lists) validateNetwork(l);
      print(`${lists.length} network file(s) valid\n`);
    })
    .command('status <name>', 'CNI STATUS of a network (can its plugins serve ADD?)', (a) => a.positional('name', { type: 'string', demandOption: true }), async (a) => {
      const list = loadNetwork(paths, a.name);
      if (atLeast(list.cniVersion, '1.1.0')) await statusNetworkList(list, runtimeEnv(paths));
      else {
        // No CNI STATUS before 1.1.0: jailnetd, which serves the network, answers for it.
        const daemon = jailnetdOf(list, process.env);
        if (!daemon) throw new CniError(CniCode.IncompatibleVersion, `network ${a.name} is cniVersion ${list.cniVersion}, which has no STATUS, and jailnetd does not serve it`, 'STATUS needs cniVersion 1.1.0');
        await daemon.health();
      }
      print(`network ${a.name}: ready\n`);
    })
    .demandCommand(1);
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export async function runCommandLine(argv: string[]): Promise<void> {
  const paths = cliPaths();
  await yargs(argv)
    .scriptName('jailnet')
    .usage('$0 <command>\n\nDocker-style networking for FreeBSD vnet jails (docs: README.md, docs/cli.md).')
    .command('network', 'manage networks', networkCommands)
    .command(
      'attach <jail>',
      'attach a vnet jail to networks',
      (a) =>
        a
          .positional('jail', { type: 'string', demandOption: true })
          .option('network', { alias: 'n', type: 'string', array: true, default: ['default'] })
          .option('publish', { alias: 'p', type: 'string', array: true, describe: '[IP:]HOSTPORT:PORT[/tcp|udp][@NETWORK] (published once: on NETWORK, else on the first network)' })
          .option('ip', { type: 'string', array: true, describe: 'static address(es), each on the network whose subnet holds it' })
          .option('mac', { type: 'string' })
          .option('name', { type: 'string', describe: 'DNS name of the jail on its networks (the jail\'s own name is one too; docs/dns.md)' })
          .option('alias', { type: 'string', array: true, describe: 'more DNS names, several jails may share one' })
          .option('json', { type: 'boolean' }),
      async (a) => {
        const names = [...(a.name !== undefined ? [a.name] : []), ...(a.alias ?? [])];
        const done = await attach(paths, { jail: a.jail, networks: a.network, ports: ports(a.publish), ips: a.ip, mac: a.mac, names });
        if (a.json) return json(done);
        for (const d of done) print(`${a.jail} ${d.ifname} on ${d.network}: ${ipsOf(d.result)}\n`);
      },
    )
    .command('detach <jail>', 'detach a jail from its networks (all, or one)', (a) => a.positional('jail', { type: 'string', demandOption: true }).option('network', { alias: 'n', type: 'string' }), async (a) => {
      const gone = await detach(paths, a.jail, a.network);
      print(gone.length ? `${a.jail} detached from ${gone.join(', ')}\n` : `${a.jail} was not attached${a.network ? ` to ${a.network}` : ''}\n`);
    })
    .command('check <jail>', "check a jail's attachments (CNI CHECK)", (a) => a.positional('jail', { type: 'string', demandOption: true }), async (a) => {
      const all = await check(paths, a.jail);
      print(`${a.jail}: ${all.length} attachment(s) as expected\n`);
    })
    .command('ps', 'list attachments', (a) => a.option('json', { type: 'boolean' }), (a) => {
      const all = listCache(paths.cacheDir).sort((x, y) => `${x.containerId}/${x.ifName}`.localeCompare(`${y.containerId}/${y.ifName}`));
      const portsOf = (c: (typeof all)[number]) => ((c.capabilityArgs?.portMappings as PortMapping[] | undefined) ?? []).map(formatPort).join(',');
      if (a.json) return json(all.map((c) => ({ jail: c.netns ?? c.containerId, network: c.networkName, ifname: c.ifName, ips: ipsOf(c.result).split(',').filter(Boolean), ports: (c.capabilityArgs?.portMappings as PortMapping[] | undefined) ?? [] })));
      print(table(['JAIL', 'NETWORK', 'IFNAME', 'ADDRESSES', 'PORTS'], all.map((c) => [c.netns ?? c.containerId, c.networkName, c.ifName, ipsOf(c.result), portsOf(c)])));
    })
    .command('gc', 'detach jails that are gone and let plugins and IPAM drop leftovers (CNI GC)', {}, async () => {
      const r = await gc(paths);
      print(`gc: ${r.detached.length} attachment(s) of vanished jails detached\n`);
    })
    .command('doctor', 'check that this host is ready for jailnet', (a) => a.option('json', { type: 'boolean' }), async (a) => {
      const findings = await doctor(paths);
      if (a.json) json(findings);
      else print(findings.map((f) => `${f.verdict.padEnd(4)}  ${f.check}: ${f.detail}${f.fix ? `\n      fix: ${f.fix}` : ''}`).join('\n') + '\n');
      if (findings.some((f) => f.verdict === 'fail')) process.exitCode = 1;
    })
    .command('hook <phase>', "runj OCI hook: create-runtime (attach) or poststop (detach); OCI state on stdin", (a) => a.positional('phase', { type: 'string', choices: ['create-runtime', 'createRuntime', 'poststop'], demandOption: true }).option('network', { alias: 'n', type: 'string', array: true }).option('publish', { alias: 'p', type: 'string', array: true }).option('ip', { type: 'string', array: true }).option('name', { type: 'string' }).option('alias', { type: 'string', array: true }).option('resolv-conf', { type: 'boolean', default: true, describe: 'write the jail\'s /etc/resolv.conf (--no-resolv-conf leaves it alone)' }), async (a) => {
      await runHook([a.phase, ...(a.network ?? []).flatMap((n) => ['-n', n]), ...(a.publish ?? []).flatMap((p) => ['-p', p]), ...(a.ip ?? []).flatMap((ip) => ['--ip', ip]), ...(a.name !== undefined ? ['--name', a.name] : []), ...(a.alias ?? []).flatMap((n) => ['--alias', n]), ...(a['resolv-conf'] === false ? ['--no-resolv-conf'] : [])]);
    })
    .command('plugins install', 'copy the CNI plugins where runtimes look for them', (a) => a.option('dir', { type: 'string', default: SYSTEM_CNI_DIR }), (a) => {
      const from = paths.cniPath.find((d) => readdirSafe(d).includes('bridge') && d !== a.dir);
      if (!from) throw new CniError(CniCode.IoFailure, 'no directory with jailnet plugins found', 'build first (npm run build)');
      mkdirSync(a.dir, { recursive: true });
      const names = readdirSafe(from).filter((f) => !f.endsWith('.map'));
      for (const f of names) copyFileSync(join(from, f), join(a.dir, f));
      print(`installed ${names.join(', ')} into ${a.dir}\n`);
    })
    .demandCommand(1, 'name a command (jailnet --help lists them)')
    .strict()
    .fail((msg, err) => {
      throw err ?? new CniError(CniCode.InvalidEnvironment, msg);
    })
    .help()
    .version(false)
    .parseAsync();
}

/** The `cluster` object `network create` writes, from its flags (checked with the whole file before it is written). */
function clusterOption(a: { name: string; cluster: boolean; mtu?: number; 'etcd-endpoints'?: string; 'etcd-ca'?: string; 'etcd-cert'?: string; 'etcd-key'?: string; 'etcd-prefix'?: string; vni?: number; underlay?: string; 'block-prefix'?: number }): { cluster?: ClusterConfig } {
  const given = ['etcd-endpoints', 'etcd-ca', 'etcd-cert', 'etcd-key', 'etcd-prefix', 'vni', 'underlay', 'block-prefix'].filter((f) => a[f as keyof typeof a] !== undefined);
  if (!a.cluster) {
    if (given.length) throw new CniError(CniCode.InvalidNetworkConfig, `--${given[0]} is for cluster networks`, 'add --cluster');
    return {};
  }
  const endpoints = (a['etcd-endpoints'] ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new CniError(CniCode.InvalidNetworkConfig, '--cluster needs --etcd-endpoints', 'e.g. --etcd-endpoints https://10.0.0.11:2379,https://10.0.0.12:2379,https://10.0.0.13:2379');
  const cluster: ClusterConfig = { endpoints, vni: a.vni ?? defaultVni(a.name) };
  if (a['etcd-ca'] !== undefined || a['etcd-cert'] !== undefined || a['etcd-key'] !== undefined) {
    if (a['etcd-ca'] === undefined) throw new CniError(CniCode.InvalidNetworkConfig, '--etcd-cert and --etcd-key need --etcd-ca', "name the CA that signed etcd's certificates");
    cluster.tls = { ca: a['etcd-ca'], ...(a['etcd-cert'] !== undefined ? { cert: a['etcd-cert'] } : {}), ...(a['etcd-key'] !== undefined ? { key: a['etcd-key'] } : {}) };
  }
  if (a['etcd-prefix'] !== undefined) cluster.prefix = a['etcd-prefix'];
  if (a.underlay !== undefined) cluster.underlay = a.underlay;
  if (a['block-prefix'] !== undefined) cluster.blockPrefix = a['block-prefix'];
  if (a.mtu !== undefined) cluster.mtu = a.mtu;
  return { cluster };
}
