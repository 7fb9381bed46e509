import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { jailnetCli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { libcniClient } from '../helpers/libcni';
import { PLUGIN_DIR } from '../helpers/plugin-process';
import { expectFailure } from '../helpers/reach';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// The network files nerdctl and podman write (test/fixtures/dropin/, unchanged) under libcni, the
// library of containerd, nerdctl and podman, with CNI_NETNS = the jail's name and jailnet's plugin
// directory as CNI_PATH: host-local, firewall and tuning are jailnet's. They name no jailnetd
// socket: the test's daemon listens where the run directory puts the default one.

const run = promisify(execFile);
jest.setTimeout(300_000);
let host: EmulatedHost;
let daemon: TestDaemon;
let client: string;
let dir: string;
const FIXTURES = join(__dirname, '../fixtures/dropin');
const NERDCTL = join(FIXTURES, 'nerdctl-bridge.conflist');
const PODMAN = join(FIXTURES, 'podman-87-podman.conflist');

beforeAll(async () => {
  client = libcniClient();
  host = await createEmulatedHost();
  mkdirSync(join(host.dir, 'run'), { recursive: true, mode: 0o700 });
  daemon = await startJailnetd(host.env, { netns: host.hostNs, socket: join(host.dir, 'run/jailnetd.sock') });
  dir = mkdtempSync(join(tmpdir(), 'jailnet-interop-dropin-'));
  await enablePfWithHooks(host);
  for (const jail of ['n1', 'n2', 'p1', 'p2']) {
    await host.createJail(jail);
    await host.startJailServer(jail, { proto: 'tcp', port: 80 });
  }
  await host.startWorldServer({ proto: 'tcp', port: 8081 });
}, 180_000);
afterAll(async () => {
  await daemon?.stop();
  await host?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ ...host.env, CNI_PATH: PLUGIN_DIR, CNI_CACHE_DIR: join(dir, 'cache'), JAILNET_LOG_FILE: '/dev/null', JAILNET_RUN_DIR: join(host.dir, 'run'), JAILNET_COMMAND_TIMEOUT: '300' });
const caps = (hostPort: number) => JSON.stringify({ portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] });
const libcni = (cmd: string, file: string, jail: string, netns: string, extra: string[] = []) => run(client, [cmd, file, jail, netns, 'eth0', ...extra], { env: env() });
const ipOf = (stdout: string) => ((JSON.parse(stdout) as { ips: { address: string }[] }).ips[0]?.address.split('/')[0] as string);
const addresses: Record<string, string> = {};

test('nerdctl\'s default network: DEL with an empty netns first, then ADD of two jails; NAT, a published port, CHECK', async () => {
  for (const [jail, port] of [['n1', 8080], ['n2', 8082]] as const) {
    await libcni('del', NERDCTL, jail, '', [caps(port)]);
    addresses[jail] = ipOf((await libcni('add', NERDCTL, jail, jail, [caps(port)])).stdout);
    await libcni('check', NERDCTL, jail, jail, [caps(port)]);
  }
  expect([addresses.n1, addresses.n2]).toEqual(['10.4.0.2', '10.4.0.3']);
  expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8080 })).toMatchObject({ ok: true, reply: { local: addresses.n1, localPort: 80 } });
  expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8082 })).toMatchObject({ ok: true, reply: { local: addresses.n2, localPort: 80 } });
  expect(await host.request('n2', { proto: 'tcp', address: host.worldAddress, port: 8081 })).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  // same-bridge: jails of the one bridge reach each other.
  expect(await host.request('n2', { proto: 'tcp', address: addresses.n1 as string, port: 80 })).toMatchObject({ ok: true, reply: { peer: addresses.n2 } });
});

test('podman\'s default network (cniVersion 0.4.0): two jails; NAT, a published port, CHECK', async () => {
  for (const [jail, port] of [['p1', 9090], ['p2', 9092]] as const) {
    addresses[jail] = ipOf((await libcni('add', PODMAN, jail, jail, [caps(port)])).stdout);
    await libcni('check', PODMAN, jail, jail, [caps(port)]);
  }
  expect([addresses.p1, addresses.p2]).toEqual(['10.88.0.2', '10.88.0.3']);
  expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 9092 })).toMatchObject({ ok: true, reply: { local: addresses.p2, localPort: 80 } });
  expect(await host.request('p1', { proto: 'tcp', address: host.worldAddress, port: 8081 })).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
});

test('isolation: a jail of another network cannot open a connection into a same-bridge network; its replies and published ports still work; after open it can', async () => {
  // podman's network is open: n1 reaches p1, and p1's replies come back into the isolated network.
  expect(await host.request('n1', { proto: 'tcp', address: addresses.p1 as string, port: 80 })).toMatchObject({ ok: true, reply: { peer: addresses.n1 } });
  expectFailure(await host.request('p1', { proto: 'tcp', address: addresses.n1 as string, port: 80 }), 'refused');
  // A published port of the isolated network, through the host's address, still answers.
  expect(await host.request('p1', { proto: 'tcp', address: host.em0Address, port: 8080 })).toMatchObject({ ok: true, reply: { local: addresses.n1 } });
  expect(await host.runOk('pfctl', ['-a', 'jailnet/iso-bridge', '-s', 'rules'])).toContain('block return in quick on jailnet inet from ! <iso_net4> to <iso_net4>');

  // The same network file with ingressPolicy open: n1 attached again, and p1 gets in.
  const open = join(dir, 'nerdctl-open.conflist');
  writeFileSync(open, readFileSync(NERDCTL, 'utf8').replace('"ingressPolicy": "same-bridge"', '"ingressPolicy": "open"'));
  await libcni('del', NERDCTL, 'n1', 'n1', [caps(8080)]);
  await libcni('del', NERDCTL, 'n2', 'n2', [caps(8082)]);
  expect(await host.runOk('pfctl', ['-a', 'jailnet/iso-bridge', '-s', 'rules'])).toBe('');
  addresses.n1 = ipOf((await libcni('add', open, 'n1', 'n1', [caps(8080)])).stdout);
  expect(await host.request('p1', { proto: 'tcp', address: addresses.n1, port: 80 })).toMatchObject({ ok: true, reply: { peer: addresses.p1 } });
  await libcni('del', open, 'n1', 'n1', [caps(8080)]);
});

test('DEL leaves nothing: no lease, no anchor, no host interface', async () => {
  for (const jail of ['p1', 'p2']) await libcni('del', PODMAN, jail, jail, [caps(jail === 'p1' ? 9090 : 9092)]);
  expect(await daemon.leases()).toEqual([]);
  expect((await host.runOk('pfctl', ['-a', 'jailnet', '-s', 'Anchors'])).trim()).toBe('');
  const hostIfs = (await host.interfaces()).host.map((i) => i.name);
  expect(hostIfs.filter((n) => /^jn|^epair/.test(n))).toEqual([]);
});

test('the files `jailnet network create` writes (default, --internal, --no-isolation, dual stack) say 1.0.0 and run under libcni: ADD, CHECK, NAT, a published port, isolation by default, DEL', async () => {
  const cli = jailnetCli(host, daemon);
  try {
    await cli.ok(['network', 'create', 'jdefault', '--subnet', '10.91.0.0/24']);
    await cli.ok(['network', 'create', 'jinternal', '--subnet', '10.92.0.0/24', '--internal']);
    await cli.ok(['network', 'create', 'jopen', '--subnet', '10.93.0.0/24', '--no-isolation']);
    await cli.ok(['network', 'create', 'jdual', '--subnet', '10.94.0.0/24', '--ipv6-subnet', 'fd00:94::/64']);
    const file = (name: string) => join(cli.env.JAILNET_CONF_DIR as string, `${name}.conflist`);
    const types = (name: string) => {
      const list = JSON.parse(readFileSync(file(name), 'utf8')) as { cniVersion: string; plugins: { type: string }[] };
      return [list.cniVersion, ...list.plugins.map((p) => p.type)];
    };
    expect(['jdefault', 'jinternal', 'jopen', 'jdual'].map(types)).toEqual([
      ['1.0.0', 'bridge', 'portmap', 'firewall'],
      ['1.0.0', 'bridge', 'portmap', 'firewall'],
      ['1.0.0', 'bridge', 'portmap'],
      ['1.0.0', 'bridge', 'portmap', 'firewall'],
    ]);
    const attached = [['jdefault', 'n1', 8090], ['jinternal', 'n2', 8091], ['jopen', 'p1', 8092], ['jdual', 'p2', 8093]] as const;
    const results: Record<string, { ips: { address: string }[] }> = {};
    for (const [network, jail, port] of attached) {
      results[jail] = JSON.parse((await libcni('add', file(network), jail, jail, [caps(port)])).stdout) as { ips: { address: string }[] };
      await libcni('check', file(network), jail, jail, [caps(port)]);
    }
    expect(results.p2?.ips.map((ip) => ip.address)).toEqual(['10.94.0.2/24', 'fd00:94::2/64']);
    const n1 = ipOf(JSON.stringify(results.n1));
    const p1 = ipOf(JSON.stringify(results.p1));
    // NAT and a published port on the default file; none of either on the internal one.
    expect(await host.request('n1', { proto: 'tcp', address: host.worldAddress, port: 8081 })).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
    expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8090 })).toMatchObject({ ok: true, reply: { local: n1 } });
    expectFailure(await host.request('n2', { proto: 'tcp', address: host.worldAddress, port: 8081 }), 'unreachable');
    // Isolation is the default: the open network's jail cannot connect into jdefault, the other way works.
    expect(await host.request('n1', { proto: 'tcp', address: p1, port: 80 })).toMatchObject({ ok: true, reply: { peer: n1 } });
    expectFailure(await host.request('p1', { proto: 'tcp', address: n1, port: 80 }), 'refused');
    for (const [network, jail, port] of attached) await libcni('del', file(network), jail, jail, [caps(port)]);
    expect(await daemon.leases()).toEqual([]);
    expect((await host.runOk('pfctl', ['-a', 'jailnet', '-s', 'Anchors'])).trim()).toBe('');
  } finally {
    cli.cleanup();
  }
});
