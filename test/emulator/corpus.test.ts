/**
 * The emulated host against the FreeBSD output corpus (test/fixtures/freebsd/): the state each
 * sample describes is built on the emulated host with the same commands, and the emulator's
 * output is compared with the sample line by line. Only the fields listed in FIELDS may differ,
 * each for the reason given there; a known difference of behaviour is listed per case in
 * `missing` and documented in docs/emulated-host.md.
 */
import { corpusSample, type CorpusSample } from '../helpers/freebsd-corpus';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

type Tool = Parameters<EmulatedHost['run']>[0];

/** Fields whose values are the machine's, not the format's: replaced by a placeholder on both sides. */
const FIELDS: Record<string, { re: RegExp; to: string; why: string }> = {
  mac: { re: /\b(ether|lladdr) [0-9a-f]{2}(:[0-9a-f]{2}){5}\b/g, to: '$1 <mac>', why: 'MAC addresses: FreeBSD derives them from the host (58:9c:fc:.. for epair and bridge), the emulator from its own counter' },
  linkLocal: { re: /\binet6 fe80::[0-9a-f:]+%/g, to: 'inet6 fe80::<from-mac>%', why: 'an automatic link-local address is built from the MAC (in6_ifattach), which differs' },
  scopeid: { re: /\bscopeid 0x[0-9a-f]+\b/g, to: 'scopeid <ifindex>', why: 'a link-local scope id is the interface index, which depends on what else the host has' },
  memberPort: { re: /\bport \d+ priority\b/g, to: 'port <ifindex> priority', why: 'a bridge member\'s "port" is its interface index' },
  pfUptime: { re: /^Status: Enabled for \d+ days \d\d:\d\d:\d\d +Debug/m, to: 'Status: Enabled for <uptime>           Debug', why: 'how long pf has been enabled' },
};

interface Case {
  /** The sample's command as argv after the tool (when the sample's command is not run verbatim, e.g. stdin). */
  input?: string;
  fields?: (keyof typeof FIELDS)[];
  /** Lines of the sample the emulator does not print (after normalizing), each a known difference. */
  missing?: string[];
  /** Compare only stdout and the exit status (the sample's stderr is of another release). */
  stdoutOnly?: boolean;
}

function normalize(text: string, fields: (keyof typeof FIELDS)[]): string {
  return fields.reduce((t, f) => t.replace((FIELDS[f] as (typeof FIELDS)[string]).re, (FIELDS[f] as (typeof FIELDS)[string]).to), text);
}

function argvOf(s: CorpusSample): { tool: Tool; args: string[] } {
  // The samples' commands are plain words, except a quoted description; split like a shell would.
  const words = [...s.command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
  return { tool: words[0] as Tool, args: words.slice(1) };
}

const d = canRunEmulator ? describe : describe.skip;

d('emulated host against the FreeBSD corpus', () => {
  let host: EmulatedHost;

  /** Runs a state-building command that must succeed. */
  const ok = async (tool: Tool, args: string[], input?: string) => {
    const r = await host.run(tool, args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
  };

  /** Runs the sample's command and compares the result with the sample. */
  const same = async (name: string, c: Case = {}) => {
    const s = corpusSample(name);
    const { tool, args } = argvOf(s);
    const r = await host.run(tool, args, c.input === undefined ? {} : { input: c.input });
    const fields = c.fields ?? [];
    const want = { exit: s.exit, stdout: normalize(s.stdout, fields), stderr: normalize(s.stderr, fields) };
    const got = { exit: r.code, stdout: normalize(r.stdout, fields), stderr: normalize(r.stderr, fields) };
    for (const line of c.missing ?? []) {
      expect(want.stdout.split('\n')).toContain(line);
      want.stdout = want.stdout.split('\n').filter((l) => l !== line).join('\n');
    }
    if (c.stdoutOnly) {
      expect({ name, exit: got.exit, stdout: got.stdout }).toEqual({ name, exit: want.exit, stdout: want.stdout });
    } else {
      expect({ name, ...got }).toEqual({ name, ...want });
    }
  };

  beforeAll(async () => {
    host = await createEmulatedHost();
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('a new vnet jail, its lo0, and jls', async () => {
    await ok('jail', ['-c', 'name=web1', 'host.hostname=web1.example', 'persist', 'vnet']);
    await ok('jail', ['-c', 'name=db1', 'host.hostname=db1.example', 'persist', 'vnet']);
    await same('ifconfig-14-jail-lo0-down');
    await same('jls-default');
    await same('jls-j-jid-name-vnet');
    await ok('jail', ['-c', 'name=plain', 'persist']);
    await same('jls-jid-name-vnet');
    await same('err-jls-not-found');
    await same('err-jexec-not-found');
    await same('err-jail-remove-not-found');
    for (const n of ['err-ifconfig-j-jail-not-found', 'err-ifconfig-j-cannot-attach', 'err-route-j-jail-not-found', 'err-route-j-cannot-attach']) await same(n);
    const s = corpusSample('jls-libxo-json');
    const r = await ok('jls', argvOf(s).args);
    // libxo's whitespace is not modelled: the JSON is compared.
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(s.stdout));
  });

  test('bridge and epairs: create, name, members, both ends, groups, errors', async () => {
    await same('ifconfig-create-bridge');
    await ok('ifconfig', ['bridge0', 'description', 'jailnet network default', 'group', 'jailnet']);
    await ok('ifconfig', ['bridge0', 'inet', '10.88.0.1/16']);
    await ok('ifconfig', ['bridge0', 'inet6', 'fd00:88::1/64', 'alias']);
    await ok('ifconfig', ['bridge0', 'up']);
    await same('ifconfig-create-epair');
    await same('ifconfig-name');
    await ok('ifconfig', ['jn5f2c9a0e1b3d', 'description', 'jailnet net=default jail=web1 if=eth0 ip=10.88.0.5', 'group', 'jailnet_host', 'up']);
    await ok('ifconfig', ['bridge0', 'addm', 'jn5f2c9a0e1b3d']);
    expect((await ok('ifconfig', ['epair', 'create'])).stdout).toBe('epair1a\n');
    await ok('ifconfig', ['epair1a', 'name', 'jn7a41c0de93f2']);
    await ok('ifconfig', ['jn7a41c0de93f2', 'group', 'jailnet_host', 'up']);
    await ok('ifconfig', ['bridge0', 'addm', 'jn7a41c0de93f2']);
    await ok('ifconfig', ['epair1b', 'vnet', 'db1']);
    await ok('ifconfig', ['epair0b', 'vnet', 'web1']);
    await ok('ifconfig', ['-j', 'web1', 'epair0b', 'name', 'eth0']);
    await ok('ifconfig', ['-j', 'web1', 'eth0', 'inet', '10.88.0.5/16']);
    await ok('ifconfig', ['-j', 'web1', 'eth0', 'inet6', 'fd00:88::5/64', 'alias']);

    await same('ifconfig-14-bridge-members', { fields: ['mac', 'memberPort'] });
    await same('ifconfig-14-epair-host-end', { fields: ['mac'] });
    await same('ifconfig-14-epair-jail-end', { fields: ['mac', 'linkLocal', 'scopeid'] });
    await same('ifconfig-14-cidr', { fields: ['mac', 'linkLocal', 'scopeid'] });
    await same('ifconfig-14-jail-l');
    await same('ifconfig-14-g-group');
    await same('ifconfig-g-unknown-group');

    await ok('ifconfig', ['-j', 'web1', 'lo0', 'inet', '127.0.0.1/8', 'up']);
    // in6_ifattach gives an up loopback fe80::1 too; the emulated lo0 has only ::1 (Linux's lo).
    await same('ifconfig-14-jail-lo0-up', { fields: ['scopeid'], missing: ['\tinet6 fe80::1%lo0 prefixlen 64 scopeid <ifindex>'] });

    expect((await ok('ifconfig', ['epair', 'create'])).stdout).toBe('epair2a\n');
    await same('ifconfig-14-epair-new', { fields: ['mac'] });
    await same('err-ifconfig-no-such-interface');
    await same('err-ifconfig-already-exists');
    await same('err-ifconfig-siocsifname-exists');
    await same('err-ifconfig-siocsifvnet-exists');
    await same('err-ifconfig-vnet-jail-not-found');
  });

  test('route: add, add again, get with and without -n, IPv6, an interface route, delete of a missing route', async () => {
    await same('route-add');
    await same('err-route-add-exists');
    await same('route-14-get-default-n');
    await same('route-14-get-default');
    await ok('route', ['-j', 'web1', '-n', '-6', 'add', 'default', 'fd00:88::1']);
    await same('route-14-get-default-inet6');
    await same('route-14-get-interface-route');
    // The sample is 13.x; its stderr line is the routing socket's (see the sample's note).
    await same('err-route-13-delete-missing', { stdoutOnly: true });
  });

  test('sysctl', async () => {
    await same('sysctl-set');
    await same('sysctl-n');
  });

  test('pfctl: enable, hooks, anchors, tables and their messages, -s info', async () => {
    await same('pfctl-e');
    await same('err-pfctl-already-enabled');
    await ok('pfctl', ['-f', '-'], 'nat-anchor "jailnet/*"\nrdr-anchor "jailnet/*"\nanchor "jailnet/*"\n');
    await same('pfctl-s-nat-main-hooks');
    await same('pfctl-s-rules-main-hook');
    const natRule = 'nat on em0 inet from <masq> to any -> (em0)\n';
    await same('pfctl-nv-anchor-load', { input: natRule });
    await ok('pfctl', ['-a', 'jailnet/nat-default', '-f', '-'], natRule);
    await same('pfctl-a-nat-anchor-s-nat');
    await ok('pfctl', ['-a', 'jailnet/pm-default-0123456789a', '-f', '-'], [
      'nat on bridge0 inet proto tcp from 10.88.0.0/16 to 10.88.0.5 port 80 -> (bridge0)',
      'rdr pass inet proto tcp from any to (em0) port 8080 -> 10.88.0.5 port 80',
      'rdr pass inet proto tcp from any to (bridge0) port 8080 -> 10.88.0.5 port 80',
    ].join('\n') + '\n');
    await same('pfctl-a-portmap-anchor-s-nat');
    await same('pfctl-a-s-anchors');

    await same('pfctl-T-add-created');
    await same('pfctl-T-add-existing');
    await ok('pfctl', ['-a', 'jailnet/nat-default', '-t', 'masq', '-T', 'add', '10.88.0.6', '10.88.0.7', '10.89.0.0/16']);
    await same('pfctl-T-delete');
    await same('pfctl-T-show');
    await same('pfctl-s-tables');
    await same('pfctl-s-tables-verbose');
    await same('pfctl-T-replace');
    await same('err-pfctl-table-missing');
    await same('err-pfctl-tables-anchor-missing');
    await same('pfctl-T-flush');
    await same('pfctl-T-kill');
    await same('pfctl-s-info', { fields: ['pfUptime'] });
  });
});
