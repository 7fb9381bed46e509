import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import { firstIpv4 } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { expectFailure } from '../helpers/reach';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// nat chained after bridge (no ipMasq): the jails reach the world from em0's address through
// the network's anchor jailnet/nat-NETWORK, exactly as ipMasq does it. jailnetd (inside the
// emulated host) owns the NAT: it records who holds which address and runs pfctl.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
const HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');
const NET = 'natnet';
const ANCHOR = `jailnet/nat-${NET}`;
const prev: Record<string, Record<string, unknown>> = {};

const bridgeConf = (name = NET, subnet = '10.67.0.0/24') => ({ cniVersion: '1.0.0', name, type: 'bridge', bridge: 'jailnet0', isDefaultGateway: true, ipam: ipamd.ipam([[{ subnet }], [{ subnet: 'fd00:67::/64' }]]) });
const natConf = (prevResult?: unknown, extra: object = {}) => ({ cniVersion: '1.0.0', name: NET, type: 'nat', socket: ipamd.socket, autostart: false, ...(prevResult ? { prevResult } : {}), ...extra });
const att = (jail: string) => ({ containerId: jail, netns: jail });
const table = async () => (await host.run('pfctl', ['-a', ANCHOR, '-t', 'masq', '-T', 'show'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
const tcpOut = (jail: string, timeoutMs = 3000) => host.request(jail, { proto: 'tcp', address: host.worldAddress, port: 8080, timeoutMs });

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  await enablePfWithHooks(host);
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
  expectFailure(await tcpOut('n1', 1500), 'timeout');
  // Positive control: the world server answers the host.
  expect(await host.request('host', { proto: 'tcp', address: host.worldAddress, port: 8080 })).toMatchObject({ ok: true });
});

test('ADD: the jail reaches the world from em0\'s address (TCP, UDP); the result is prevResult', async () => {
  const mark = host.traceMark();
  const r = await cni('nat', 'ADD', natConf(prev.n1), att('n1'));
  expect(r.code).toBe(0);
  expect(r.json).toEqual(prev.n1);
  // First jail of the network: the default route, the anchor's rule and table with the jail in
  // one load, then whether pf will apply it (two reads; a warning in the plugin's log if not).
  expect(host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`)).toEqual([
    'route -n get -inet default',
    `pfctl -a ${ANCHOR} -f -`,
    'pfctl -s info',
    'pfctl -s nat',
  ]);
  expect(await host.runOk('pfctl', ['-a', ANCHOR, '-s', 'nat'])).toBe('nat on em0 inet from <masq> to any -> (em0:0)\n');
  expect(await table()).toEqual([firstIpv4(prev.n1)]);
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

test('DEL takes the jail out of the table; again succeeds; without prevResult too (jailnetd knows); the last one takes the NAT down', async () => {
  let mark = host.traceMark();
  expect((await cni('nat', 'DEL', natConf(prev.n2), att('n2'))).code).toBe(0);
  expect(host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`)).toEqual([`pfctl -a ${ANCHOR} -t masq -T delete ${firstIpv4(prev.n2)}`]);
  expect(await table()).toEqual([firstIpv4(prev.n1)]);
  expectFailure(await tcpOut('n2', 1500), 'timeout');
  expect(await tcpOut('n1')).toMatchObject({ ok: true });
  mark = host.traceMark();
  expect((await cni('nat', 'DEL', natConf(prev.n2), att('n2'))).code).toBe(0);
  expect(host.traceSince(mark)).toEqual([]);
  // No prevResult, no CNI_NETNS: jailnetd knows what n1 holds. It was the network's last member.
  mark = host.traceMark();
  expect((await cni('nat', 'DEL', natConf(), { containerId: 'n1', netns: '' })).code).toBe(0);
  expect(host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`)).toEqual([`pfctl -a ${ANCHOR} -F all`]);
  expect(await table()).toEqual([]);
  expectFailure(await tcpOut('n1', 1500), 'timeout');
  // A new first member: rule and table in one load again (pf status reads aside).
  mark = host.traceMark();
  expect((await cni('nat', 'ADD', natConf(prev.n1), att('n1'))).code).toBe(0);
  expect(host.traceSince(mark).filter((e) => e.tool === 'pfctl' && e.argv[0] !== '-s').map((e) => e.argv.join(' '))).toEqual([`-a ${ANCHOR} -f -`]);
  expect(await table()).toEqual([firstIpv4(prev.n1)]);
  expect(await tcpOut('n1')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
});

test('ADD needs prevResult; a 0.4.0 prevResult comes back in 0.4.0', async () => {
  const r = await cni('nat', 'ADD', natConf(), att('n2'));
  expect(r.json).toMatchObject({ code: 7, msg: 'nat ADD needs prevResult: nat is a chained plugin' });
  const legacy = { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: 'n2' }], ips: [{ version: '4', address: `${firstIpv4(prev.n2)}/24`, interface: 0 }] };
  const r2 = await cni('nat', 'ADD', { ...natConf(legacy), cniVersion: '0.4.0' }, att('n2'));
  expect(r2.code).toBe(0);
  expect(r2.json).toEqual(legacy);
  // The second member after the NAT was set up again: in the table beside the first.
  expect(await table()).toEqual([firstIpv4(prev.n1), firstIpv4(prev.n2)].sort());
  expect(await tcpOut('n2')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  expect(await tcpOut('n1')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
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

test('GC with every attachment valid changes nothing (it only looks); STATUS answers 50 with pf disabled, without the nat-anchor hook, or without jailnetd', async () => {
  const status = (extra: object = {}) => cni('nat', 'STATUS', { ...natConf(), cniVersion: '1.1.0', ...extra });
  const before = await table();
  const mark = host.traceMark();
  expect((await cni('nat', 'GC', { ...natConf(), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'n1', ifname: 'eth0' }, { containerID: 'n2', ifname: 'eth0' }] })).code).toBe(0);
  expect(host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`.trim())).toEqual(['pfctl -a jailnet -s Anchors', `pfctl -a ${ANCHOR} -t masq -T show`, 'ifconfig']);
  expect(await table()).toEqual(before);
  expect((await status()).code).toBe(0);
  expect((await status({ socket: join(host.dir, 'nothing.sock') })).json).toMatchObject({ code: 50 });
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

test('concurrent first ADDs on a new network: every member ends up in the table and translated; a table left by hand is replaced', async () => {
  const BURST = 'natburst';
  const burstTable = async () => (await host.run('pfctl', ['-a', `jailnet/nat-${BURST}`, '-t', 'masq', '-T', 'show'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  for (const j of ['n1', 'n2']) expect((await cni('nat', 'DEL', natConf(prev[j]), att(j))).code).toBe(0);
  expectFailure(await tcpOut('n1', 1500), 'timeout');
  // Left in the anchor by hand: jailnetd's records hold no member, so the first load replaces it.
  await host.runOk('pfctl', ['-a', `jailnet/nat-${BURST}`, '-t', 'masq', '-T', 'add', '10.67.0.250']);
  const adds = await Promise.all(['n1', 'n2'].map((j) => cni('nat', 'ADD', { ...natConf(prev[j]), name: BURST }, att(j))));
  expect(adds.map((r) => r.code)).toEqual([0, 0]);
  expect(await burstTable()).toEqual([firstIpv4(prev.n1), firstIpv4(prev.n2)].sort());
  for (const j of ['n1', 'n2']) expect(await tcpOut(j)).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  for (const j of ['n1', 'n2']) expect((await cni('nat', 'DEL', { ...natConf(prev[j]), name: BURST }, att(j))).code).toBe(0);
  expect(await burstTable()).toEqual([]);
  expect((await host.runOk('pfctl', ['-s', 'Anchors'])).split('\n').map((l) => l.trim())).not.toContain(`jailnet/nat-${BURST}`);
});

test('after jailnetd restarts, the next jail of a network with members is one table change: the members stay', async () => {
  expect((await cni('nat', 'ADD', natConf(prev.n1), att('n1'))).code).toBe(0);
  await ipamd.restart();
  const mark = host.traceMark();
  expect((await cni('nat', 'ADD', natConf(prev.n2), att('n2'))).code).toBe(0);
  expect(host.traceSince(mark).filter((e) => e.tool === 'pfctl' && e.argv[0] !== '-s').map((e) => e.argv.join(' '))).toEqual([`-a ${ANCHOR} -t masq -T add ${firstIpv4(prev.n2)}`]);
  expect(await table()).toEqual([firstIpv4(prev.n1), firstIpv4(prev.n2)].sort());
  for (const j of ['n1', 'n2']) expect(await tcpOut(j)).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
});
