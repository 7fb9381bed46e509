import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { cniRunner, firstIpv4 } from '../helpers/cni-on-host';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { hostEndName } from '../../src/link/naming';

// The epair plugin: point-to-point links, no bridge, on the emulated host with real packets.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: ReturnType<typeof cniRunner>;
let conf: Record<string, unknown>;
const results: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env);
  cni = cniRunner(host);
  conf = { cniVersion: '1.0.0', name: 'p2p', type: 'epair', ipam: ipamd.ipam([[{ subnet: '10.60.0.0/24' }], [{ subnet: 'fd00:60::/64' }]]) };
  for (const j of ['p1', 'p2']) await host.createJail(j);
}, 60_000);
afterAll(async () => {
  await ipamd?.stop();
  await host?.destroy();
});

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
