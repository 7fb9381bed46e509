import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { CniCode, CniError } from '../cni/errors';
import { listCache } from '../cni/runtime/cache';
import { statusNetworkList } from '../cni/runtime/chain';
import { parseConflist } from '../cni/runtime/conflist';
import { destroyInterface, showInterface } from '../freebsd/ifconfig';
import { flushAnchor } from '../freebsd/pfctl';
import { known } from '../link/known';
import { natAnchor } from '../pf/anchors';
import { attach, check, detach, gc, runtimeEnv } from './attachments';
import { doctor } from './doctor';
import { runHook } from './hook';
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
          .option('mtu', { type: 'number' }),
      async (a) => {
        const withPortmap = paths.cniPath.some((d) => readdirSafe(d).includes('portmap'));
        const list = await createNetwork(paths, { name: a.name, subnet: a.subnet, gateway: a.gateway, subnet6: a['ipv6-subnet'], bridge: a.bridge, internal: a.internal, mtu: a.mtu }, withPortmap);
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
        if (info && info.members.length === 0) {
          known.forgetBridge(bridge);
          await destroyInterface(bridge);
        }
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
      await statusNetworkList(loadNetwork(paths, a.name), runtimeEnv(paths));
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
