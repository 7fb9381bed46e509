import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import type { TestDaemon } from '../helpers/jailnetd';
import { bridgeNetwork, withPluginHost, type CniRunner } from '../helpers/plugin-host';

// Ranges and gateways that would take the host's own addresses or routes, or special-purpose
// ones, are refused by jailnetd, the plugins and the CLI before anything changes. The emulated
// host's em0 is 198.51.100.2/24 with its default router at 198.51.100.1.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
let cli: Cli;

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  cli = jailnetCli(host, ipamd);
  await host.createJail('tk');
  // A static route of the host's, through its default router.
  await host.runOk('route', ['add', '-net', '10.123.0.0/16', '198.51.100.1']);
}, 60_000);
afterAll(() => cli?.cleanup());

const att = { containerId: 'tk', netns: 'tk' };

/** Commands that changed something (anything but jls, ifconfig IF, netstat, route get). */
const changes = (mark: number) =>
  host
    .traceSince(mark)
    .filter((t) => !(t.tool === 'jls' || t.tool === 'netstat' || (t.tool === 'ifconfig' && t.argv.length <= 1) || (t.tool === 'route' && t.argv.includes('get'))))
    .map((t) => `${t.tool} ${t.argv.join(' ')}`);

function post(path: string, body: unknown): Promise<{ status: number; body: { error?: { reason: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: ipamd.socket, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error?: { reason: string; message: string } } }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('bridge with jailnet-ipam: refused before any change (jailnetd compares the ranges with the host)', () => {
  test.each([
    ['em0\'s subnet', [{ subnet: '198.51.100.0/24' }], 'ipam.ranges[0][0].subnet": 198.51.100.0/24 overlaps the network of em0\'s address 198.51.100.2/24'],
    ['a subnet holding the default router', [{ subnet: '198.51.100.0/25' }], 'overlaps the network of em0\'s address 198.51.100.2/24'],
    ['a subnet inside a static route', [{ subnet: '10.123.4.0/24' }], '10.123.4.0/24 overlaps the host\'s route to 10.123.0.0/16 (through em0)'],
    ['loopback', [{ subnet: '127.0.0.0/8' }], '127.0.0.0/8 overlaps the loopback (127.0.0.0/8) block'],
    ['link-local', [{ subnet: '169.254.0.0/16' }], 'overlaps the link-local (169.254.0.0/16) block'],
    ['multicast', [{ subnet: '239.1.0.0/16' }], 'overlaps the multicast (224.0.0.0/4) block'],
    ['0.0.0.0/0', [{ subnet: '0.0.0.0/0' }], '0.0.0.0/0 is the default route'],
    ['::/0', [{ subnet: '::/0' }], '::/0 is the default route'],
    ['IPv6 link-local', [{ subnet: 'fe80::/64' }], 'overlaps the link-local (fe80::/10) block'],
    ['a gateway outside the subnet', [{ subnet: '10.124.0.0/24', gateway: '10.125.0.1' }], '"ipam.ranges[0][0].gateway": gateway 10.125.0.1 is outside the subnet 10.124.0.0/24'],
  ])('%s', async (_label, range, message) => {
    const before = await host.interfaces();
    const mark = host.traceMark();
    const r = await cni('bridge', 'ADD', { ...bridgeNetwork(ipamd, 'takeover', '10.99.0.0/24'), ipam: ipamd.ipam([range]) }, att);
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain(message);
    expect(changes(mark)).toEqual([]);
    expect(await host.interfaces()).toEqual(before);
    expect(await ipamd.leases('takeover')).toEqual([]);
  });

  test('jailnetd refuses them itself (its API), whatever the client checked', async () => {
    for (const ranges of [[[{ subnet: '198.51.100.0/24' }]], [[{ subnet: '127.0.0.0/8' }]], [[{ subnet: '10.124.0.0/24', gateway: '10.125.0.1' }]]]) {
      const r = await post('/v1/allocate', { network: 'direct', containerID: 'c', ifname: 'eth0', ranges });
      expect(r.status).toBe(400);
      expect(r.body.error?.reason).toBe('invalid-config');
    }
    expect(await ipamd.leases('direct')).toEqual([]);
  });

  test('a network\'s own bridge is no conflict: its gateway address is jailnet\'s', async () => {
    const first = bridgeNetwork(ipamd, 'own', '10.126.0.0/24');
    expect((await cni('bridge', 'ADD', first, att)).code).toBe(0);
    // Other ranges in the same subnet on the same bridge: jailnetd reads the host again and finds
    // 10.126.0.1/24 on br-own, a bridge of group jailnet.
    const again = { ...first, name: 'own2', ipam: ipamd.ipam([[{ subnet: '10.126.0.0/24', rangeStart: '10.126.0.100' }]]) };
    const r = await cni('bridge', 'ADD', again, { ...att, ifname: 'eth1' });
    expect(r.code).toBe(0);
    for (const [conf, ifname] of [[first, 'eth0'], [again, 'eth1']] as const) expect((await cni('bridge', 'DEL', conf, { ...att, ifname })).code).toBe(0);
  });
});

describe('another IPAM plugin: the link plugins compare its addresses with the host', () => {
  const fixture = (address: string, gateway: string) => ({ type: 'fixture-ipam', address, gateway });

  test('bridge: checked when it would create the bridge', async () => {
    const before = await host.interfaces();
    const mark = host.traceMark();
    const r = await cni('bridge', 'ADD', { cniVersion: '1.0.0', name: 'fixt', type: 'bridge', bridge: 'br-fixt', isGateway: true, ipam: fixture('198.51.100.50/24', '198.51.100.1') }, att);
    expect(r.json).toMatchObject({ code: 7, msg: 'network fixt: 198.51.100.0/24 overlaps the network of em0\'s address 198.51.100.2/24' });
    expect(changes(mark)).toEqual([]);
    expect(await host.interfaces()).toEqual(before);
  });

  test('epair: checked at every ADD', async () => {
    const before = await host.interfaces();
    const mark = host.traceMark();
    const r = await cni('epair', 'ADD', { cniVersion: '1.0.0', name: 'fixe', type: 'epair', ipam: fixture('10.123.9.5/24', '10.123.9.1') }, att);
    expect(r.json).toMatchObject({ code: 7, msg: 'network fixe: 10.123.9.0/24 overlaps the host\'s route to 10.123.0.0/16 (through em0)' });
    expect(changes(mark)).toEqual([]);
    expect(await host.interfaces()).toEqual(before);
  });
});

describe('jailnet network create', () => {
  test.each([
    [['--subnet', '198.51.100.0/24'], 'overlaps the network of em0\'s address 198.51.100.2/24'],
    [['--subnet', '10.123.0.0/24'], 'overlaps the host\'s route to 10.123.0.0/16 (through em0)'],
    [['--subnet', '127.0.0.0/8'], 'overlaps the loopback (127.0.0.0/8) block'],
    [['--subnet', '10.127.0.0/24', '--gateway', '10.128.0.1'], 'gateway 10.128.0.1 is outside the subnet 10.127.0.0/24'],
    [['--subnet', '10.127.0.0/24', '--ipv6-subnet', 'ff05::/64'], 'overlaps the multicast (ff00::/8) block'],
  ])('%j is refused and writes nothing', async (args, message) => {
    const r = await cli.run(['network', 'create', 'grab', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(existsSync(join(cli.env.JAILNET_CONF_DIR as string, 'grab.conflist'))).toBe(false);
  });

  test('a subnet the host does not use is accepted', async () => {
    expect(await cli.ok(['network', 'create', 'fine', '--subnet', '10.129.0.0/24'])).toContain('network fine created');
  });
});
