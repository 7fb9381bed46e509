import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import { firstIpv4 } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { withPluginHost, type CniRunner } from '../helpers/plugin-host';

// nat chained after bridge (no ipMasq): the jails reach the world from em0's address through
// the network's anchor jailnet/nat-NETWORK, exactly as ipMasq does it.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
const HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');
const NET = 'natnet';
const ANCHOR = `jailnet/nat-${NET}`;
const prev: Record<string, Record<string, unknown>> = {};

const bridgeConf = (name = NET, subnet = '10.67.0.0/24') => ({ cniVersion: '1.0.0', name, type: 'bridge', bridge: 'jailnet0', isDefaultGateway: true, ipam: ipamd.ipam([[{ subnet }], [{ subnet: 'fd00:67::/64' }]]) });
const natConf = (prevResult?: unknown, extra: object = {}) => ({ cniVersion: '1.0.0', name: NET, type: 'nat', ...(prevResult ? { prevResult } : {}), ...extra });
const att = (jail: string) => ({ containerId: jail, netns: jail });
const table = async () => (await host.run('pfctl', ['-a', ANCHOR, '-t', 'masq', '-T', 'show'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
const tcpOut = (jail: string, timeoutMs = 3000) => host.request(jail, { proto: 'tcp', address: host.worldAddress, port: 8080, timeoutMs });

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
  await host.runOk('pfctl', ['-e']);
  await host.startWorldServer({ proto: 'tcp', port: 8080 });
  await host.startWorldServer({ proto: 'udp', port: 5353 });
  for (const j of ['n1', 'n2']) {
    await host.createJail(j);
    const r = await cni('bridge', 'ADD', bridgeConf(), att(j));
    if (r.code !== 0) throw new Error(`bridge ADD ${j}: ${r.stdout}`);
    prev[j] = r.json as Record<string, unknown>;
  }
}, 120_000);

test('without nat the jail does not reach the world (no route back to the jail network)', async () => {
  expect((await tcpOut('n1', 1500)).ok).toBe(false);
});

test('ADD: the jail reaches the world from em0\'s address (TCP, UDP); the result is prevResult', async () => {
  const mark = host.traceMark();
  const r = await cni('nat', 'ADD', natConf(prev.n1), att('n1'));
  expect(r.code).toBe(0);
  expect(r.json).toEqual(prev.n1);
  // First jail of the network: table add (creates it), the default route, the anchor's rule.
  expect(host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`)).toEqual([
    `pfctl -a ${ANCHOR} -t masq -T add ${firstIpv4(prev.n1)}`,
    'route -n get -inet default',
    `pfctl -a ${ANCHOR} -f -`,
  ]);
  expect(await host.runOk('pfctl', ['-a', ANCHOR, '-s', 'nat'])).toBe('nat on em0 inet from <masq> to any -> (em0:0)\n');
  expect(await tcpOut('n1')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  expect(await host.request('n1', { proto: 'udp', address: host.worldAddress, port: 5353 })).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
});

test('with two aliases on em0, every connection leaves from its primary address (`(em0)` would take turns)', async () => {
  const aliases = ['198.51.100.3', '198.51.100.4'];
  try {
    for (const a of aliases) await host.runOk('ifconfig', ['em0', 'inet', `${a}/24`, 'alias']);
    const peers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await tcpOut('n1');
      peers.push(r.ok ? r.reply.peer : `failed: ${r.error}`);
    }
    expect(peers).toEqual(Array(4).fill(host.em0Address));
  } finally {
    for (const a of aliases) await host.run('ifconfig', ['em0', 'inet', a, '-alias']);
  }
});

test('a second jail costs one pfctl call; CHECK passes, then names a missing address or rule', async () => {
  const mark = host.traceMark();
  expect((await cni('nat', 'ADD', natConf(prev.n2, { egressInterface: 'em0' }), att('n2'))).code).toBe(0);
  expect(host.traceSince(mark).map((e) => e.tool)).toEqual(['pfctl']);
  expect(await table()).toEqual([firstIpv4(prev.n1), firstIpv4(prev.n2)].sort());
  expect(await tcpOut('n2')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });

  const check = () => cni('nat', 'CHECK', natConf(prev.n2), att('n2'));
  expect((await check()).code).toBe(0);
  await host.runOk('pfctl', ['-a', ANCHOR, '-t', 'masq', '-T', 'delete', firstIpv4(prev.n2)]);
  expect((await check()).json).toMatchObject({ code: 103, msg: `the NAT table <masq> of ${ANCHOR} lacks ${firstIpv4(prev.n2)}` });
  await host.runOk('pfctl', ['-a', ANCHOR, '-t', 'masq', '-T', 'add', firstIpv4(prev.n2)]);
  await host.runOk('pfctl', ['-a', ANCHOR, '-F', 'nat']);
  expect((await check()).json).toMatchObject({ code: 103, msg: `the NAT anchor ${ANCHOR} has no rule` });
  await host.runOk('pfctl', ['-a', ANCHOR, '-f', '-'], { input: 'nat on em0 inet from <masq> to any -> (em0:0)\n' });
  expect((await check()).code).toBe(0);
});

test('DEL takes the jail out of the table; again succeeds; without prevResult there is nothing to find', async () => {
  expect((await cni('nat', 'DEL', natConf(prev.n2), att('n2'))).code).toBe(0);
  expect(await table()).toEqual([firstIpv4(prev.n1)]);
  expect((await tcpOut('n2', 1500)).ok).toBe(false);
  expect(await tcpOut('n1')).toMatchObject({ ok: true });
  expect((await cni('nat', 'DEL', natConf(prev.n2), att('n2'))).code).toBe(0);
  const mark = host.traceMark();
  expect((await cni('nat', 'DEL', natConf(), { containerId: 'n1', netns: '' })).code).toBe(0);
  expect(host.traceSince(mark)).toEqual([]);
  expect(await table()).toEqual([firstIpv4(prev.n1)]);
});

test('ADD needs prevResult; a 0.4.0 prevResult comes back in 0.4.0', async () => {
  const r = await cni('nat', 'ADD', natConf(), att('n2'));
  expect(r.json).toMatchObject({ code: 7, msg: 'nat ADD needs prevResult: nat is a chained plugin' });
  const legacy = { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: 'n2' }], ips: [{ version: '4', address: `${firstIpv4(prev.n2)}/24`, interface: 0 }] };
  const r2 = await cni('nat', 'ADD', { ...natConf(legacy), cniVersion: '0.4.0' }, att('n2'));
  expect(r2.code).toBe(0);
  expect(r2.json).toEqual(legacy);
  expect(await tcpOut('n2')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
});

test('a failing anchor load on a new network leaves no table behind', async () => {
  host.setFaults([{ tool: 'pfctl', words: ['-f', '-'], stderr: 'injected failure' }]);
  try {
    const r = await cni('nat', 'ADD', { ...natConf(prev.n1), name: 'natfresh' }, att('n1'));
    expect(r.json).toMatchObject({ code: 100 });
  } finally {
    host.clearFaults();
  }
  expect((await host.runOk('pfctl', ['-s', 'Anchors'])).split('\n').map((l) => l.trim())).not.toContain('jailnet/nat-natfresh');
});

test('GC does nothing; STATUS answers 50 with pf disabled or without the nat-anchor hook', async () => {
  const status = () => cni('nat', 'STATUS', { ...natConf(), cniVersion: '1.1.0' });
  const mark = host.traceMark();
  expect((await cni('nat', 'GC', { ...natConf(), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] })).code).toBe(0);
  expect(host.traceSince(mark)).toEqual([]);
  expect((await status()).code).toBe(0);
  await host.runOk('pfctl', ['-f', '-'], { input: 'rdr-anchor "jailnet/*"\nanchor "jailnet/*"\n' });
  try {
    expect((await status()).json).toMatchObject({ code: 50, msg: 'nat: the main pf ruleset lacks `nat-anchor "jailnet/*"`, so jailnet\'s anchors are never evaluated' });
  } finally {
    await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
  }
  await host.runOk('pfctl', ['-d']);
  try {
    expect((await status()).json).toMatchObject({ code: 50, msg: 'nat: pf is not enabled' });
  } finally {
    await host.runOk('pfctl', ['-e']);
  }
});
