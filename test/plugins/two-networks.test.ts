import type { EmulatedHost } from '../harness/emulated-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { bridgeNetwork, withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { parseIfconfig } from '../../src/freebsd/parse/ifconfig';
import { parseNetstatRoutes } from '../../src/freebsd/parse/netstat';

// One jail on two bridge networks on the emulated host, whose route(8) appends as FreeBSD's
// does (net.route.multipath=1: a second default gateway makes a multipath route, not an error).

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  await host.createJail('dual');
}, 60_000);

const a = { containerId: 'dual', netns: 'dual', ifname: 'eth0' };
const b = { containerId: 'dual', netns: 'dual', ifname: 'eth1' };
let netA: ReturnType<typeof bridgeNetwork>;
let netB: ReturnType<typeof bridgeNetwork>;
let resA: Record<string, unknown>;
let resB: Record<string, unknown>;

const defaults = async (jail: string) =>
  parseNetstatRoutes(await host.runOk('netstat', ['-j', jail, '-rn', '-f', 'inet']))
    .filter((r) => r.destination === 'default')
    .map((r) => `${r.gateway} ${r.netif}`);
const lo0 = async (jail: string) => parseIfconfig(await host.runOk('ifconfig', ['-j', jail, 'lo0']))[0];

beforeAll(() => {
  netA = bridgeNetwork(ipamd, 'neta', '10.61.0.0/24');
  netB = bridgeNetwork(ipamd, 'netb', '10.62.0.0/24');
});

test('the jail keeps one default route: the first network\'s; the second ADD adds none and says so', async () => {
  const ra = await cni('bridge', 'ADD', netA, a);
  expect(ra.code).toBe(0);
  resA = ra.json as Record<string, unknown>;
  // An lo0 address of the jail's own, to see whether lo0 is set again (FreeBSD deletes and
  // re-adds an address that is set again: it would move behind this one).
  await host.runOk('ifconfig', ['-j', 'dual', 'lo0', 'inet', '127.0.0.2/8', 'alias']);
  const rb = await cni('bridge', 'ADD', netB, b);
  expect(rb.code).toBe(0);
  resB = rb.json as Record<string, unknown>;
  expect(resA.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.61.0.1' }]);
  expect(resB.routes).toBeUndefined();
  expect(await defaults('dual')).toEqual(['10.61.0.1 eth0']);
  // Both networks work: each gateway answers on its own link.
  for (const gw of ['10.61.0.1', '10.62.0.1']) expect((await host.jexec('dual', ['/usr/bin/ping', '-c', '1', '-W', '2', gw])).code).toBe(0);
});

test('the second attachment leaves lo0 alone (read, not set again)', async () => {
  const l = await lo0('dual');
  expect(l?.flags).toContain('UP');
  expect(l?.inet.map((x) => x.address)).toEqual(['127.0.0.1', '127.0.0.2']);
});

test('CHECK passes for both; a multipath default route fails CHECK naming both gateways', async () => {
  expect(await cni('bridge', 'CHECK', { ...netA, prevResult: resA }, a)).toMatchObject({ code: 0, stdout: '' });
  expect(await cni('bridge', 'CHECK', { ...netB, prevResult: resB }, b)).toMatchObject({ code: 0, stdout: '' });
  // What the second ADD would have made on FreeBSD had it added its default route.
  await host.runOk('route', ['-j', 'dual', 'add', 'default', '10.62.0.1']);
  expect(await defaults('dual')).toEqual(['10.61.0.1 eth0', '10.62.0.1 eth1']);
  const ecmp = await cni('bridge', 'CHECK', { ...netA, prevResult: resA }, a);
  expect(ecmp.json).toMatchObject({ code: 103, msg: 'jail dual has a multipath default route through 10.61.0.1 and 10.62.0.1; it should have one, through 10.61.0.1' });
  await host.runOk('route', ['-j', 'dual', 'delete', 'default', '10.62.0.1']);
  expect(await cni('bridge', 'CHECK', { ...netA, prevResult: resA }, a)).toMatchObject({ code: 0 });
});

test('DEL of the first network leaves the jail without a default route; ADD again gives it back', async () => {
  expect(await cni('bridge', 'DEL', { ...netA, prevResult: resA }, a)).toMatchObject({ code: 0 });
  expect(await defaults('dual')).toEqual([]);
  const again = await cni('bridge', 'ADD', netA, a);
  expect(again.code).toBe(0);
  resA = again.json as Record<string, unknown>;
  expect(await defaults('dual')).toEqual(['10.61.0.1 eth0']);
});

test('CHECK of an attachment whose jail was removed answers code 3 (ifconfig -j\'s "jail not found")', async () => {
  await host.removeJail('dual');
  for (const [conf, att, prev] of [[netA, a, resA], [netB, b, resB]] as const) {
    const r = await cni('bridge', 'CHECK', { ...conf, prevResult: prev }, att);
    expect(r.json).toMatchObject({ code: 3, msg: 'jail dual does not exist' });
  }
  for (const [conf, att] of [[netA, a], [netB, b]] as const) expect(await cni('bridge', 'DEL', conf, att)).toMatchObject({ code: 0 });
  expect(await ipamd.leases('neta')).toEqual([]);
  expect(await ipamd.leases('netb')).toEqual([]);
});

test('a jail whose first network is not its default gateway gets its default route from the second, marked isDefaultGateway', async () => {
  await host.createJail('marked');
  const plain = bridgeNetwork(ipamd, 'netc', '10.63.0.0/24', { isDefaultGateway: false, isGateway: true });
  const marked = bridgeNetwork(ipamd, 'netd', '10.64.0.0/24');
  const c = { containerId: 'marked', netns: 'marked', ifname: 'eth0' };
  const d = { containerId: 'marked', netns: 'marked', ifname: 'eth1' };
  const rc = await cni('bridge', 'ADD', plain, c);
  expect(rc.code).toBe(0);
  expect((rc.json as Record<string, unknown>).routes).toBeUndefined();
  expect(await defaults('marked')).toEqual([]);
  const rd = await cni('bridge', 'ADD', marked, d);
  expect(rd.code).toBe(0);
  expect((rd.json as Record<string, unknown>).routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.64.0.1' }]);
  expect(await defaults('marked')).toEqual(['10.64.0.1 eth1']);
  for (const [conf, att] of [[marked, d], [plain, c]] as const) expect(await cni('bridge', 'DEL', conf, att)).toMatchObject({ code: 0 });
  await host.removeJail('marked');
  expect(await ipamd.leases('netc')).toEqual([]);
  expect(await ipamd.leases('netd')).toEqual([]);
});
