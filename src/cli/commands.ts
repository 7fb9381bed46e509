import type { Args, CommandSpec } from './argv';
import { loadCore } from './core-loader';
import { print } from './output';
import { cliPaths, SYSTEM_CNI_DIR } from './paths';

/**
 * The `jailnet` commands: their grammar as data (src/cli/argv.ts). The commands that only read
 * files (ps, network ls and inspect) run here; the others are in core.ts, which is compiled only
 * when one of them runs (core-loader.ts): `jailnet ps` never parses the plugins' code.
 */

const json = (value: unknown): void => print(`${JSON.stringify(value, null, 2)}\n`);
const ipsOf = (r: { ips?: { address: string }[] } | undefined) => (r?.ips ?? []).map((ip) => ip.address).join(',');
const jsonFlag = { name: 'json', type: 'boolean' } as const;
/** A command of core.ts. */
const inCore = (path: string) => (a: Args) => loadCore().handlers[path]?.(a);

const network: CommandSpec = {
  name: 'network',
  describe: 'manage networks',
  subcommands: [
    {
      name: 'ls',
      aliases: ['list'],
      describe: 'list networks',
      options: [jsonFlag],
      async run(a) {
        const [{ bridgeOf, listNetworks, subnetsOf }, { table }] = await Promise.all([import('./network-files'), import('./output')]);
        const lists = listNetworks(cliPaths());
        if (a.json) return json(lists.map((l) => ({ name: l.name, cniVersion: l.cniVersion, bridge: bridgeOf(l), subnets: subnetsOf(l), plugins: l.plugins.map((p) => p.type) })));
        print(table(['NAME', 'BRIDGE', 'SUBNETS', 'PLUGINS'], lists.map((l) => [l.name, bridgeOf(l) ?? '-', subnetsOf(l).join(','), l.plugins.map((p) => p.type).join(',')])));
      },
    },
    {
      name: 'inspect',
      describe: 'show a network file',
      positionals: [{ name: 'name', required: true }],
      async run(a) {
        const { loadNetwork } = await import('./network-files');
        print(`${loadNetwork(cliPaths(), a.name as string).bytes.toString('utf8').trimEnd()}\n`);
      },
    },
    {
      name: 'create',
      describe: 'create a network file (bridge, jailnet-ipam, NAT, published ports)',
      positionals: [{ name: 'name', required: true }],
      options: [
        { name: 'subnet', type: 'string', required: true, describe: 'IPv4 subnet, e.g. 10.88.0.0/16' },
        { name: 'gateway', type: 'string', describe: 'gateway address (default: the first host)' },
        { name: 'ipv6-subnet', type: 'string', describe: 'IPv6 subnet for dual stack' },
        { name: 'bridge', type: 'string', describe: 'bridge name (default: jailnetN)' },
        { name: 'internal', type: 'boolean', default: false, describe: 'no NAT to the outside' },
        { name: 'isolation', type: 'boolean', default: true, describe: 'jails of other networks cannot open connections to this one (--no-isolation opens it)' },
        { name: 'cni-version', type: 'string', describe: 'cniVersion of the file (default 1.0.0, which libcni 1.1 clients accept)' },
        { name: 'mtu', type: 'number' },
        { name: 'cluster', type: 'boolean', default: false, describe: 'a network across hosts, on etcd and vxlan (docs/cluster.md)' },
        { name: 'etcd-endpoints', type: 'string', describe: 'cluster: etcd client URLs, comma-separated' },
        { name: 'etcd-ca', type: 'string', describe: "cluster: CA of etcd's certificates" },
        { name: 'etcd-cert', type: 'string', describe: "cluster: this host's client certificate" },
        { name: 'etcd-key', type: 'string', describe: "cluster: this host's client key" },
        { name: 'etcd-prefix', type: 'string', describe: 'cluster: key prefix [default: /jailnet]' },
        { name: 'vni', type: 'number', describe: 'cluster: VXLAN network identifier [default: from the name]' },
        { name: 'underlay', type: 'string', describe: "cluster: this host's underlay address or interface [default: the default route's]" },
        { name: 'block-prefix', type: 'number', describe: 'cluster: prefix length of the address blocks hosts claim [default: 26]' },
      ],
      run: inCore('network create'),
    },
    {
      name: 'rm',
      aliases: ['remove'],
      describe: 'remove a network (its bridge and NAT anchor too)',
      positionals: [{ name: 'name', required: true }],
      options: [{ name: 'force', type: 'boolean', default: false }],
      run: inCore('network rm'),
    },
    {
      name: 'validate',
      describe: 'validate network files (all of them by default)',
      positionals: [{ name: 'files', variadic: true }],
      run: inCore('network validate'),
    },
    {
      name: 'status',
      describe: 'CNI STATUS of a network (can its plugins serve ADD?)',
      positionals: [{ name: 'name', required: true }],
      run: inCore('network status'),
    },
  ],
};

export const COMMAND_LINE: CommandSpec = {
  name: 'jailnet',
  describe: 'Docker-style networking for FreeBSD vnet jails (docs: README.md, docs/cli.md).',
  subcommands: [
    network,
    {
      name: 'attach',
      describe: 'attach a vnet jail to networks',
      positionals: [{ name: 'jail', required: true }],
      options: [
        { name: 'network', alias: 'n', type: 'string', array: true, default: ['default'] },
        { name: 'publish', alias: 'p', type: 'string', array: true, describe: '[IP:]HOSTPORT:PORT[/tcp|udp][@NETWORK] (published once: on NETWORK, else on the first network)' },
        { name: 'ip', type: 'string', array: true, describe: 'static address(es), each on the network whose subnet holds it' },
        { name: 'mac', type: 'string' },
        { name: 'name', type: 'string', describe: "DNS name of the jail on its networks (the jail's own name is one too; docs/dns.md)" },
        { name: 'alias', type: 'string', array: true, describe: 'more DNS names, several jails may share one' },
        jsonFlag,
      ],
      run: inCore('attach'),
    },
    {
      name: 'detach',
      describe: 'detach a jail from its networks (all, or one)',
      positionals: [{ name: 'jail', required: true }],
      options: [{ name: 'network', alias: 'n', type: 'string' }],
      run: inCore('detach'),
    },
    {
      name: 'check',
      describe: "check a jail's attachments (CNI CHECK)",
      positionals: [{ name: 'jail', required: true }],
      run: inCore('check'),
    },
    {
      name: 'ps',
      describe: 'list attachments',
      options: [jsonFlag],
      async run(a) {
        const [{ listCache }, { formatPort }, { table }] = await Promise.all([import('../cni/runtime/cache'), import('./ports'), import('./output')]);
        type PortMapping = Parameters<typeof formatPort>[0];
        const all = listCache(cliPaths().cacheDir).sort((x, y) => `${x.containerId}/${x.ifName}`.localeCompare(`${y.containerId}/${y.ifName}`));
        const portsOf = (c: (typeof all)[number]) => (c.capabilityArgs?.portMappings as PortMapping[] | undefined) ?? [];
        if (a.json) return json(all.map((c) => ({ jail: c.netns ?? c.containerId, network: c.networkName, ifname: c.ifName, ips: ipsOf(c.result).split(',').filter(Boolean), ports: portsOf(c) })));
        print(table(['JAIL', 'NETWORK', 'IFNAME', 'ADDRESSES', 'PORTS'], all.map((c) => [c.netns ?? c.containerId, c.networkName, c.ifName, ipsOf(c.result), portsOf(c).map(formatPort).join(',')])));
      },
    },
    {
      name: 'gc',
      describe: 'detach jails that are gone and let plugins and IPAM drop leftovers (CNI GC)',
      run: inCore('gc'),
    },
    {
      name: 'doctor',
      describe: 'check that this host is ready for jailnet',
      options: [jsonFlag],
      run: inCore('doctor'),
    },
    {
      // main.ts runs `jailnet hook ...` itself (hook.ts reads its own arguments); this is its --help.
      name: 'hook',
      describe: 'runj OCI hook: create-runtime (attach) or poststop (detach); OCI state on stdin',
      positionals: [{ name: 'phase', required: true, choices: ['create-runtime', 'createRuntime', 'poststop'] }],
      options: [
        { name: 'network', alias: 'n', type: 'string', array: true },
        { name: 'publish', alias: 'p', type: 'string', array: true },
        { name: 'ip', type: 'string', array: true },
        { name: 'name', type: 'string' },
        { name: 'alias', type: 'string', array: true },
        { name: 'resolv-conf', type: 'boolean', default: true, describe: "write the jail's /etc/resolv.conf (--no-resolv-conf leaves it alone)" },
      ],
    },
    {
      name: 'plugins',
      describe: 'the CNI plugins',
      subcommands: [
        {
          name: 'install',
          describe: 'copy the CNI plugins where runtimes look for them',
          options: [{ name: 'dir', type: 'string', default: SYSTEM_CNI_DIR }],
          run: inCore('plugins install'),
        },
      ],
    },
  ],
};
