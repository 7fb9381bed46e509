import type { EmulatedHost } from '../harness/emulated-host';
import { firstIpv4, inBatches } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { bridgeNetwork, withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { hostEndName } from '../../src/link/naming';

// The bridge plugin on the emulated FreeBSD host, with jailnetd for addresses and real packets.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
}, 60_000);

const network = (name: string, subnet: string, extra: object = {}) => bridgeNetwork(ipamd, name, subnet, extra);

const hostInterfaceNames = async () => (await host.interfaces()).host.map((i) => i.name).sort();
const ping = (jail: string, address: string) => host.jexec(jail, ['/usr/bin/ping', '-c', '1', '-W', '2', address]);

describe('two jails on one bridge', () => {
  let conf: ReturnType<typeof network>;
  const a = { containerId: 'pair-a', netns: 'pair-a' };
  const b = { containerId: 'pair-b', netns: 'pair-b' };
  let resA: Record<string, unknown>;
  let resB: Record<string, unknown>;

  beforeAll(async () => {
    conf = network('pair', '10.91.0.0/24');
    await host.createJail('pair-a');
    await host.createJail('pair-b');
  });

  test('ADD gives each jail an address, the bridge the gateway', async () => {
    const ra = await cni('bridge', 'ADD', conf, a);
    expect(ra.stderr).toBe('');
    expect(ra.code).toBe(0);
    resA = ra.json as Record<string, unknown>;
    const rb = await cni('bridge', 'ADD', conf, b);
    expect(rb.code).toBe(0);
    resB = rb.json as Record<string, unknown>;
    expect(resA).toMatchObject({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'br-pair' }, { name: hostEndName('pair-a', 'eth0') }, { name: 'eth0', sandbox: 'pair-a' }],
      ips: [{ gateway: '10.91.0.1', interface: 2 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.91.0.1' }],
    });
    expect(firstIpv4(resA)).not.toBe(firstIpv4(resB));
    const jailIfs = (await host.interfaces()).jails['pair-a']?.map((i) => i.name).sort();
    expect(jailIfs).toEqual(['eth0', 'lo0']);
  });

  test('the jails ping each other and the gateway', async () => {
    expect((await ping('pair-a', firstIpv4(resB))).code).toBe(0);
    expect((await ping('pair-b', firstIpv4(resA))).code).toBe(0);
    expect((await ping('pair-a', '10.91.0.1')).code).toBe(0);
    expect((await ping('pair-a', '127.0.0.1')).code).toBe(0);
  });

  test('CHECK passes with the ADD result, and fails naming what is missing', async () => {
    expect(await cni('bridge', 'CHECK', { ...conf, prevResult: resA }, a)).toMatchObject({ code: 0, stdout: '' });
    await host.runOk('ifconfig', ['-j', 'pair-b', 'eth0', 'inet', firstIpv4(resB), '-alias']);
    const broken = await cni('bridge', 'CHECK', { ...conf, prevResult: resB }, b);
    expect(broken.json).toMatchObject({ code: 103, msg: `interface eth0 in jail pair-b lacks address ${firstIpv4(resB)}/24` });
  });

  test('DEL removes the interfaces and the lease; DEL again succeeds', async () => {
    const hostEnd = hostEndName('pair-a', 'eth0');
    expect(await hostInterfaceNames()).toContain(hostEnd);
    expect(await cni('bridge', 'DEL', { ...conf, prevResult: resA }, a)).toMatchObject({ code: 0, stdout: '' });
    expect(await hostInterfaceNames()).not.toContain(hostEnd);
    expect((await host.interfaces()).jails['pair-a']?.map((i) => i.name)).toEqual(['lo0']);
    expect((await ipamd.leases('pair')).map((l) => l.containerID)).toEqual(['pair-b']);
    expect(await cni('bridge', 'DEL', { ...conf, prevResult: resA }, a)).toMatchObject({ code: 0, stdout: '' });
  });

  test('DEL after the jail was removed (runj poststop) leaves nothing, without prevResult', async () => {
    await host.removeJail('pair-b');
    // The jail's end came back to the host under its jail name.
    expect(await hostInterfaceNames()).toContain('eth0');
    expect(await cni('bridge', 'DEL', conf, b)).toMatchObject({ code: 0, stdout: '' });
    const left = await hostInterfaceNames();
    expect(left).not.toContain('eth0');
    expect(left).not.toContain(hostEndName('pair-b', 'eth0'));
    expect(await ipamd.leases('pair')).toEqual([]);
  });

  test('DEL with an empty CNI_NETNS succeeds (nerdctl deletes before setup)', async () => {
    expect(await cni('bridge', 'DEL', conf, { containerId: 'never-added', netns: '' })).toMatchObject({ code: 0, stdout: '' });
  });
});

test('50 concurrent ADDs onto a bridge that does not exist yet: one bridge, 50 working jails', async () => {
  const conf = network('crowd', '10.92.0.0/24');
  const jails = Array.from({ length: 50 }, (_, i) => `crowd${i}`);
  await inBatches(jails, 8, (j) => host.createJail(j));
  const results = await Promise.all(jails.map((j) => cni('bridge', 'ADD', conf, { containerId: j, netns: j })));
  expect(results.filter((r) => r.code !== 0).map((r) => r.stdout)).toEqual([]);
  const bridges = (await host.interfaces()).host.filter((i) => i.kind === 'bridge');
  expect(bridges.map((b) => b.name)).toContain('br-crowd');
  expect(bridges.filter((b) => /^bridge\d+$/.test(b.name))).toEqual([]);
  const members = (await host.interfaces()).host.filter((i) => i.master === 'br-crowd');
  expect(members).toHaveLength(50);
  const addresses = results.map((r) => firstIpv4(r.json));
  expect(new Set(addresses).size).toBe(50);
  const pings = await inBatches(jails, 10, (j) => ping(j, '10.92.0.1'));
  expect(pings.map((p) => p.code)).toEqual(jails.map(() => 0));
  // A jail reaches another one through the bridge.
  expect((await ping('crowd0', addresses[49] as string)).code).toBe(0);
  await inBatches(jails, 10, (j) => cni('bridge', 'DEL', conf, { containerId: j, netns: j }));
  expect((await host.interfaces()).host.filter((i) => i.master === 'br-crowd')).toEqual([]);
  expect(await ipamd.leases('crowd')).toEqual([]);
  await inBatches(jails, 8, (j) => host.removeJail(j));
}, 300_000);

describe('results in every version', () => {
  test.each(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])('%s', async (version) => {
    const jail = `v${version.replace(/\./g, '')}`;
    await host.createJail(jail);
    const conf = { ...network('versions', '10.93.0.0/24'), cniVersion: version };
    const r = await cni('bridge', 'ADD', conf, { containerId: jail, netns: jail });
    expect(r.code).toBe(0);
    expect(r.json?.cniVersion).toBe(version);
    const ip = (r.json?.ips as Record<string, unknown>[])[0];
    if (version.startsWith('0.')) expect(ip).toMatchObject({ version: '4', interface: 2 });
    else expect(ip).not.toHaveProperty('version');
    expect(await cni('bridge', 'DEL', conf, { containerId: jail, netns: jail })).toMatchObject({ code: 0 });
    await host.removeJail(jail);
  });
});

test('one ADD onto an existing bridge runs 10 host commands for a new jail, 6 for its second network', async () => {
  const conf = network('count', '10.94.0.0/24');
  const other = network('count-b', '10.99.0.0/24');
  await host.createJail('count1');
  await host.createJail('count2');
  expect((await cni('bridge', 'ADD', conf, { containerId: 'count1', netns: 'count1' })).code).toBe(0);
  expect((await cni('bridge', 'ADD', other, { containerId: 'count1', netns: 'count1', ifname: 'eth1' })).code).toBe(0);
  // jailnetd's periodic jail check runs `jls` (all jails) on the same host; the plugin's own
  // look at the jail is `jls -j JAIL`.
  const commandsOf = async (run: () => Promise<unknown>) => {
    const mark = host.traceMark();
    await run();
    return host
      .traceSince(mark)
      .filter((t) => t.tool !== 'jls' || t.argv.includes('-j'))
      .map((t) => `${t.tool}${t.jail ? ` -j ${t.jail}` : ''} ${t.argv.join(' ')}`);
  };
  const first = await commandsOf(() => cni('bridge', 'ADD', conf, { containerId: 'count2', netns: 'count2' }));
  expect(first.map((c) => c.split(' ')[0])).toEqual(['jls', 'ifconfig', 'ifconfig', 'ifconfig', 'ifconfig', 'ifconfig', 'route', 'route', 'ifconfig', 'ifconfig']);
  // The read-only look at the jail first; the bridge is known from count1's ADD (not read); the
  // epair created with its host end set up in one call; the default route asked before it is
  // added; lo0 read, then set, as the last command: nothing that can fail comes after it.
  expect(first[0]).toBe('jls -j count2 jid name vnet');
  expect(first[1]).toMatch(/^ifconfig epair\d+ create ether 06:\S+ name jn\w+ description /);
  expect(first[2]).toMatch(/^ifconfig br-count addm jn\w+ up$/);
  expect(first[6]).toBe('route -j count2 -n get -inet default');
  expect(first[8]).toBe('ifconfig -j count2 lo0');
  expect(first[9]).toBe('ifconfig -j count2 lo0 inet 127.0.0.1/8 up');
  // A second network: the jail's default route (from its first network) and lo0 are known, and kept.
  const second = await commandsOf(() => cni('bridge', 'ADD', other, { containerId: 'count2', netns: 'count2', ifname: 'eth1' }));
  expect(second).toHaveLength(6);
  expect(second.filter((c) => / default|lo0/.test(c))).toEqual([]);
  // Once the first network's attachment is gone, so is its default route: the next ADD asks again.
  expect((await cni('bridge', 'DEL', conf, { containerId: 'count2', netns: 'count2' })).code).toBe(0);
  const again = await commandsOf(() => cni('bridge', 'ADD', conf, { containerId: 'count2', netns: 'count2' }));
  expect(again.filter((c) => / default/.test(c))).toEqual(['route -j count2 -n get -inet default', 'route -j count2 -n -4 add default 10.94.0.1']);
  for (const j of ['count1', 'count2']) {
    await cni('bridge', 'DEL', conf, { containerId: j, netns: j });
    await cni('bridge', 'DEL', other, { containerId: j, netns: j, ifname: 'eth1' });
  }
});

test('GC destroys the host ends of attachments that are not valid and releases their leases', async () => {
  const conf = { ...network('gcnet', '10.95.0.0/24'), cniVersion: '1.1.0' };
  for (const j of ['gc1', 'gc2']) {
    await host.createJail(j);
    expect((await cni('bridge', 'ADD', conf, { containerId: j, netns: j })).code).toBe(0);
  }
  const other = { ...network('gcother', '10.96.0.0/24'), cniVersion: '1.1.0' };
  await host.createJail('gc3');
  expect((await cni('bridge', 'ADD', other, { containerId: 'gc3', netns: 'gc3' })).code).toBe(0);

  const gc = await cni('bridge', 'GC', { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'gc1', ifname: 'eth0' }] });
  expect(gc).toMatchObject({ code: 0, stdout: '' });
  const names = await hostInterfaceNames();
  expect(names).toContain(hostEndName('gc1', 'eth0'));
  expect(names).not.toContain(hostEndName('gc2', 'eth0'));
  // Another network's attachment is not this GC's business.
  expect(names).toContain(hostEndName('gc3', 'eth0'));
  expect((await ipamd.leases('gcnet')).map((l) => l.containerID)).toEqual(['gc1']);
  expect((await ipamd.leases('gcother')).map((l) => l.containerID)).toEqual(['gc3']);
});

describe('STATUS', () => {
  test('answers 0 on a host that can serve ADD', async () => {
    expect(await cni('bridge', 'STATUS', { ...network('status', '10.97.0.0/24'), cniVersion: '1.1.0' })).toMatchObject({ code: 0, stdout: '' });
  });
  test('answers 50 when the bridge name is taken by something that is not a bridge', async () => {
    const r = await cni('bridge', 'STATUS', { ...network('status', '10.97.0.0/24'), cniVersion: '1.1.0', bridge: 'em0' });
    expect(r.json).toMatchObject({ code: 50, msg: 'interface em0 exists and is not a bridge' });
  });
});

describe('refusals', () => {
  beforeAll(() => host.createJail('plainjail', { vnet: false }));

  test('a jail that does not exist: code 3, nothing left behind', async () => {
    const before = await host.interfaces();
    const r = await cni('bridge', 'ADD', network('refuse', '10.98.0.0/24'), { containerId: 'ghost', netns: 'ghost' });
    expect(r.json).toMatchObject({ code: 3, msg: 'jail ghost does not exist' });
    expect(await host.interfaces()).toEqual(before);
    expect(await ipamd.leases('refuse')).toEqual([]);
  });

  test('a jail that is not a vnet jail: code 4', async () => {
    const r = await cni('bridge', 'ADD', network('refuse', '10.98.0.0/24'), { containerId: 'plain', netns: 'plainjail' });
    expect(r.json).toMatchObject({ code: 4, msg: 'jail plainjail is not a vnet jail' });
    expect(await ipamd.leases('refuse')).toEqual([]);
  });

  test('a repeated ADD for the same container and ifname: code 102, the first attachment intact', async () => {
    await host.createJail('twice');
    const conf = network('refuse', '10.98.0.0/24');
    const first = await cni('bridge', 'ADD', conf, { containerId: 'twice', netns: 'twice' });
    expect(first.code).toBe(0);
    const again = await cni('bridge', 'ADD', conf, { containerId: 'twice', netns: 'twice' });
    expect(again.json).toMatchObject({ code: 102 });
    expect(await cni('bridge', 'CHECK', { ...conf, prevResult: first.json }, { containerId: 'twice', netns: 'twice' })).toMatchObject({ code: 0 });
  });
});
