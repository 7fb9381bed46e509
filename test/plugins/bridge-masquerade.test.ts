import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import { firstIpv4 } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { expectFailure } from '../helpers/reach';

// ipMasq: a jail reaches the outside world through pf NAT on em0, with the hooks of conf/pf.conf.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
const HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  await host.startWorldServer({ proto: 'tcp', port: 8080 });
  await host.startWorldServer({ proto: 'udp', port: 5353 });
  for (const j of ['m1', 'm2']) await host.createJail(j);
}, 60_000);

const conf = () => ({ cniVersion: '1.0.0', name: 'masq', type: 'bridge', bridge: 'jailnet0', isDefaultGateway: true, ipMasq: true, ipam: ipamd.ipam([[{ subnet: '10.77.0.0/24' }]]) });

test('without the hooks in the main ruleset, the NAT anchor does nothing', async () => {
  await host.runOk('pfctl', ['-e']);
  const r = await cni('bridge', 'ADD', conf(), { containerId: 'm1', netns: 'm1' });
  expect(r.code).toBe(0);
  expect(await host.runOk('pfctl', ['-a', 'jailnet/nat-masq', '-s', 'nat'])).toContain('nat on em0 inet from <masq> to any -> (em0:0)');
  const out = await host.request('m1', { proto: 'tcp', address: host.worldAddress, port: 8080, timeoutMs: 1500 });
  expectFailure(out, 'timeout');
  // Positive control: the world server answers the host.
  expect(await host.request('host', { proto: 'tcp', address: host.worldAddress, port: 8080 })).toMatchObject({ ok: true });
});

test('with the hooks, TCP and UDP from the jail reach the world from the host em0 address', async () => {
  await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
  const tcp = await host.request('m1', { proto: 'tcp', address: host.worldAddress, port: 8080 });
  expect(tcp).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  const udp = await host.request('m1', { proto: 'udp', address: host.worldAddress, port: 5353 });
  expect(udp).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
});

test('a second jail is NATed through the same table; DEL takes its address out', async () => {
  const r = await cni('bridge', 'ADD', conf(), { containerId: 'm2', netns: 'm2' });
  expect(r.code).toBe(0);
  const table = async () => (await host.runOk('pfctl', ['-a', 'jailnet/nat-masq', '-t', 'masq', '-T', 'show'])).split('\n').map((l) => l.trim()).filter(Boolean).sort();
  expect(await table()).toHaveLength(2);
  expect(await host.request('m2', { proto: 'tcp', address: host.worldAddress, port: 8080 })).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  expect((await cni('bridge', 'CHECK', { ...conf(), prevResult: r.json }, { containerId: 'm2', netns: 'm2' })).code).toBe(0);
  // DEL without prevResult still takes the address out: jailnetd knows what m2 holds.
  expect((await cni('bridge', 'DEL', conf(), { containerId: 'm2', netns: 'm2' })).code).toBe(0);
  expect(await table()).not.toContain(firstIpv4(r.json));
  expect(await table()).toHaveLength(1);
});

test('STATUS answers 50 when pf is disabled on a masquerading network', async () => {
  await host.runOk('pfctl', ['-d']);
  const r = await cni('bridge', 'STATUS', { ...conf(), cniVersion: '1.1.0' });
  expect(r.json).toMatchObject({ code: 50, msg: 'network masq masquerades but pf is not enabled' });
  await host.runOk('pfctl', ['-e']);
  expect((await cni('bridge', 'STATUS', { ...conf(), cniVersion: '1.1.0' })).code).toBe(0);
});
