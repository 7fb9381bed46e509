import type { EmulatedHost } from '../harness/emulated-host';
import { firstIpv4 } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { hostEndName } from '../../src/link/naming';

// The epair plugin: point-to-point links, no bridge, on the emulated host with real packets.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
let conf: Record<string, unknown>;
const results: Record<string, Record<string, unknown>> = {};

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  conf = { cniVersion: '1.0.0', name: 'p2p', type: 'epair', ipam: ipamd.ipam([[{ subnet: '10.60.0.0/24' }], [{ subnet: 'fd00:60::/64' }]]) };
  for (const j of ['p1', 'p2']) await host.createJail(j);
}, 60_000);

const ping = (jail: string, address: string) => host.jexec(jail, ['/usr/bin/ping', '-c', '1', '-W', '2', address]);

test('ADD: the host end holds the gateway, the jail its address, no bridge', async () => {
  for (const j of ['p1', 'p2']) {
    const r = await cni('epair', 'ADD', conf, { containerId: j, netns: j });
    expect(r.stdout).toContain('"ips"');
    results[j] = r.json as Record<string, unknown>;
  }
  expect(results.p1).toMatchObject({
    interfaces: [{ name: hostEndName('p1', 'eth0') }, { name: 'eth0', sandbox: 'p1' }],
    ips: [
      { gateway: '10.60.0.1', interface: 1 },
      { gateway: 'fd00:60::1', interface: 1 },
    ],
  });
  const hostIfs = (await host.interfaces()).host;
  expect(hostIfs.filter((i) => i.kind === 'bridge')).toEqual([]);
  const p1Host = hostIfs.find((i) => i.name === hostEndName('p1', 'eth0'));
  expect(p1Host?.addresses).toEqual(expect.arrayContaining(['10.60.0.1/32']));
  const p1Jail = (await host.interfaces()).jails.p1?.find((i) => i.name === 'eth0');
  expect(p1Jail?.addresses).toEqual(expect.arrayContaining([`${firstIpv4(results.p1)}/32`]));
});

test('each jail reaches the host, and the other jail through it (IPv4 and IPv6)', async () => {
  expect((await ping('p1', '10.60.0.1')).code).toBe(0);
  expect((await ping('p1', firstIpv4(results.p2))).code).toBe(0);
  expect((await ping('p2', firstIpv4(results.p1))).code).toBe(0);
  const v6 = ((results.p2?.ips ?? []) as { address: string }[]).find((ip) => ip.address.includes(':'))?.address.split('/')[0] as string;
  expect((await host.jexec('p1', ['/usr/bin/ping', '-6', '-c', '1', '-W', '2', v6])).code).toBe(0);
  // The host itself reaches a jail service over its host route.
  await host.startJailServer('p2', { proto: 'tcp', port: 7000 });
  const reply = await host.request('host', { proto: 'tcp', address: firstIpv4(results.p2), port: 7000 });
  expect(reply).toMatchObject({ ok: true });
});

test('CHECK passes, and names the missing host route when it is gone', async () => {
  expect(await cni('epair', 'CHECK', { ...conf, prevResult: results.p1 }, { containerId: 'p1', netns: 'p1' })).toMatchObject({ code: 0, stdout: '' });
  await host.runOk('route', ['-n', 'delete', '-host', firstIpv4(results.p1)]);
  const r = await cni('epair', 'CHECK', { ...conf, prevResult: results.p1 }, { containerId: 'p1', netns: 'p1' });
  expect(r.json).toMatchObject({ code: 103 });
  expect(String(r.json?.msg)).toContain(`route to ${firstIpv4(results.p1)}`);
});

test('DEL removes both ends, the host routes and the leases; again succeeds', async () => {
  for (const j of ['p1', 'p2']) {
    expect(await cni('epair', 'DEL', { ...conf, prevResult: results[j] }, { containerId: j, netns: j })).toMatchObject({ code: 0, stdout: '' });
    expect(await cni('epair', 'DEL', conf, { containerId: j, netns: j })).toMatchObject({ code: 0, stdout: '' });
  }
  const snap = await host.snapshot();
  expect(snap.host.map((i) => i.name).filter((n) => n.startsWith('jn'))).toEqual([]);
  expect(snap.hostRoutes.filter((r) => r.includes('10.60.0.'))).toEqual([]);
  expect(snap.jails.p1?.map((i) => i.name)).toEqual(['lo0']);
  expect(await ipamd.leases('p2p')).toEqual([]);
});

test('DEL after the jail was removed (runj poststop) leaves nothing, without prevResult', async () => {
  await host.createJail('p3');
  const r = await cni('epair', 'ADD', conf, { containerId: 'p3', netns: 'p3' });
  expect(r.code).toBe(0);
  await host.removeJail('p3');
  // The jail's end came back to the host under its jail name.
  expect((await host.interfaces()).host.map((i) => i.name)).toContain('eth0');
  expect(await cni('epair', 'DEL', conf, { containerId: 'p3', netns: 'p3' })).toMatchObject({ code: 0, stdout: '' });
  const snap = await host.snapshot();
  expect(snap.host.map((i) => i.name).filter((n) => n === 'eth0' || n.startsWith('jn'))).toEqual([]);
  expect(snap.hostRoutes.filter((route) => route.includes('10.60.0.') || route.includes('fd00:60:'))).toEqual([]);
  expect(await ipamd.leases('p2p')).toEqual([]);
  expect(await cni('epair', 'DEL', conf, { containerId: 'p3', netns: 'p3' })).toMatchObject({ code: 0, stdout: '' });
});

test('DEL with an empty CNI_NETNS succeeds', async () => {
  expect(await cni('epair', 'DEL', conf, { containerId: 'never-added', netns: '' })).toMatchObject({ code: 0, stdout: '' });
});

test('GC destroys the host ends (and their host routes) of attachments that are not valid and releases their leases', async () => {
  const gcConf = { ...conf, cniVersion: '1.1.0', name: 'p2pgc', ipam: ipamd.ipam([[{ subnet: '10.61.0.0/24' }]]) };
  const other = { ...conf, cniVersion: '1.1.0', name: 'p2pother', ipam: ipamd.ipam([[{ subnet: '10.62.0.0/24' }]]) };
  for (const j of ['pg1', 'pg2', 'pg3']) await host.createJail(j);
  for (const j of ['pg1', 'pg2']) expect((await cni('epair', 'ADD', gcConf, { containerId: j, netns: j })).code).toBe(0);
  expect((await cni('epair', 'ADD', other, { containerId: 'pg3', netns: 'pg3' })).code).toBe(0);

  const routesVia = (routes: string[], j: string) => routes.filter((r) => r.includes(` dev ${hostEndName(j, 'eth0')}`));
  expect(routesVia((await host.snapshot()).hostRoutes, 'pg2')).not.toEqual([]);
  const gc = await cni('epair', 'GC', { ...gcConf, 'cni.dev/valid-attachments': [{ containerID: 'pg1', ifname: 'eth0' }] });
  expect(gc).toMatchObject({ code: 0, stdout: '' });
  const snap = await host.snapshot();
  const names = snap.host.map((i) => i.name);
  expect(names).toContain(hostEndName('pg1', 'eth0'));
  expect(names).not.toContain(hostEndName('pg2', 'eth0'));
  // Another network's attachment is not this GC's business.
  expect(names).toContain(hostEndName('pg3', 'eth0'));
  expect(routesVia(snap.hostRoutes, 'pg2')).toEqual([]);
  expect(routesVia(snap.hostRoutes, 'pg1')).not.toEqual([]);
  expect((await ipamd.leases('p2pgc')).map((l) => l.containerID)).toEqual(['pg1']);
  expect((await ipamd.leases('p2pother')).map((l) => l.containerID)).toEqual(['pg3']);
});

describe('STATUS', () => {
  test('answers 0 on a host that can serve ADD', async () => {
    expect(await cni('epair', 'STATUS', { ...conf, cniVersion: '1.1.0' })).toMatchObject({ code: 0, stdout: '' });
  });
  test('answers 50 on a masquerading network while pf is disabled', async () => {
    const r = await cni('epair', 'STATUS', { ...conf, cniVersion: '1.1.0', ipMasq: true });
    expect(r.json).toMatchObject({ code: 50, msg: 'network p2p masquerades but pf is not enabled' });
  });
});

describe('results in every version', () => {
  test.each(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])('%s', async (version) => {
    const jail = `pv${version.replace(/\./g, '')}`;
    await host.createJail(jail);
    const versioned = { ...conf, name: 'p2pversions', cniVersion: version };
    const r = await cni('epair', 'ADD', versioned, { containerId: jail, netns: jail });
    expect(r.code).toBe(0);
    expect(r.json?.cniVersion).toBe(version);
    const ips = r.json?.ips as Record<string, unknown>[];
    if (version.startsWith('0.')) expect(ips).toEqual([expect.objectContaining({ version: '4', interface: 1 }), expect.objectContaining({ version: '6', interface: 1 })]);
    else for (const ip of ips) expect(ip).not.toHaveProperty('version');
    expect(await cni('epair', 'DEL', versioned, { containerId: jail, netns: jail })).toMatchObject({ code: 0 });
    await host.removeJail(jail);
  });
});
