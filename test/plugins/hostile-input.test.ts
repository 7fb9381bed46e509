import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { cniRunner } from '../helpers/cni-on-host';

// Hostile values in every field and variable of bridge and epair: a clear error with a code, and
// not one host command run (the emulated host's trace stays empty).

let host: EmulatedHost;
let cni: ReturnType<typeof cniRunner>;

beforeAll(async () => {
  host = await createEmulatedHost();
  cni = cniRunner(host);
  await host.createJail('victim');
}, 60_000);
afterAll(() => host?.destroy());

const ipam = { type: 'fixture-ipam', address: '10.70.0.5/24', gateway: '10.70.0.1' };
const good = { cniVersion: '1.0.0', name: 'hostile', type: 'bridge', bridge: 'jailnet0', isDefaultGateway: true, ipam };
const att = { containerId: 'c1', netns: 'victim' };

// Fields of both plugins.
const configCases: [string, object][] = [
  ['network name with a slash', { name: '../../etc' }],
  ['network name with a space', { name: 'a b' }],
  ['network name too long', { name: 'n'.repeat(49) }],
  ['mtu as a string', { mtu: '1500; reboot' }],
  ['mtu out of range', { mtu: 70000 }],
  ['ipMasq as a number', { ipMasq: 1 }],
  ['runtimeConfig.mac with a shell command', { runtimeConfig: { mac: '02:00:00:00:00:01;reboot' } }],
  ['runtimeConfig.mac multicast', { runtimeConfig: { mac: '01:00:5e:00:00:01' } }],
  ['runtimeConfig.mac all zeros', { runtimeConfig: { mac: '00:00:00:00:00:00' } }],
  ['args.cni.mac', { args: { cni: { mac: '`id`' } } }],
  ['egressInterface with a space', { egressInterface: 'em0 up' }],
  ['ipam.type as a path', { ipam: { type: '/bin/sh' } }],
  ['ipam.type with ..', { ipam: { type: '../sh' } }],
  ['cniVersion from the future', { cniVersion: '9.9.9' }],
  ['cniVersion as a number', { cniVersion: 1 }],
];

// Fields only bridge has (epair tolerates them as unknown, as CNI requires).
const bridgeCases: [string, object][] = [
  ['bridge with a shell command', { bridge: 'br0;reboot' }],
  ['bridge with $()', { bridge: '$(id)' }],
  ['bridge too long', { bridge: 'bridge0123456789' }],
  ['bridge as a number', { bridge: 7 }],
  ['bridge as an option', { bridge: '-a' }],
  ['vlan', { vlan: 5 }],
  ['isGateway as a string', { isGateway: 'true' }],
];

const envCases: [string, Record<string, string>][] = [
  ['CNI_NETNS as a Linux path', { netns: '/var/run/netns/x' }],
  ['CNI_NETNS with a shell command', { netns: 'victim;reboot' }],
  ['CNI_NETNS with a space', { netns: 'victim jail' }],
  ['CNI_NETNS as an option', { netns: '-r' }],
  ['CNI_IFNAME with a semicolon', { ifname: 'eth0;id' }],
  ['CNI_IFNAME with $', { ifname: 'e$x' }],
  ['CNI_IFNAME too long', { ifname: 'eth0123456789012' }],
  ['CNI_IFNAME with a slash', { ifname: 'eth/0' }],
  ['CNI_CONTAINERID with a shell command', { containerId: 'c1;reboot' }],
  ['CNI_CONTAINERID as an option', { containerId: '-c1' }],
  ['CNI_ARGS MAC with a shell command', { args: 'MAC=02:00:00:00:00:0$(id)' }],
  ['CNI_ARGS with an unknown key', { args: 'EVIL=1' }],
  ['CNI_ARGS MAC all zeros', { args: 'IgnoreUnknown=1;MAC=00:00:00:00:00:00' }],
  // JID 0 is prison0, the host itself: its interfaces are not a jail's.
  ['CNI_NETNS as JID 0', { netns: '0' }],
  ['CNI_NETNS as JID 00', { netns: '00' }],
  // lo0 is the jail's loopback: renaming the jail end to it would fail only after the epair exists.
  ['CNI_IFNAME lo0', { ifname: 'lo0' }],
];

describe.each([
  ['bridge', [...configCases, ...bridgeCases]],
  ['epair', configCases],
] as const)('%s', (plugin, cases) => {
  test.each(cases)('config: %s', async (_label, extra) => {
    const mark = host.traceMark();
    const r = await cni(plugin, 'ADD', { ...good, type: plugin, ...extra }, att);
    expect(r.code).toBe(1);
    expect(r.json).toHaveProperty('code');
    expect([1, 2, 6, 7]).toContain(r.json?.code);
    expect(String(r.json?.msg).length).toBeGreaterThan(10);
    expect(host.traceSince(mark)).toEqual([]);
  });

  test.each(envCases)('environment: %s', async (_label, e) => {
    const mark = host.traceMark();
    const r = await cni(plugin, 'ADD', { ...good, type: plugin }, { ...att, ...e });
    expect(r.code).toBe(1);
    expect(r.json?.code).toBe(4);
    expect(host.traceSince(mark)).toEqual([]);
  });

  test('DEL and CHECK refuse hostile names the same way', async () => {
    const mark = host.traceMark();
    expect((await cni(plugin, 'DEL', { ...good, type: plugin }, { ...att, ifname: 'eth0;id' })).json?.code).toBe(4);
    expect((await cni(plugin, 'CHECK', { ...good, type: plugin, prevResult: { cniVersion: '1.0.0' } }, { ...att, netns: '/proc/1/ns/net' })).json?.code).toBe(4);
    expect(host.traceSince(mark)).toEqual([]);
  });
});

// Refusals that need a read-only look at the host (the jail with jls, the bridge with ifconfig),
// or that come from the IPAM result: nothing but those looks runs, and nothing changes.
describe.each(['bridge', 'epair'] as const)('%s: checked before any change', (plugin) => {
  const readOnly = (mark: number) =>
    host.traceSince(mark).filter((t) => !(t.tool === 'jls' || (t.tool === 'ifconfig' && t.argv.length === 1) || (t.tool === 'route' && t.argv.includes('get')) || t.tool === 'netstat'));

  test('a jail that does not exist: code 3 after one jls', async () => {
    const before = await host.interfaces();
    const mark = host.traceMark();
    const r = await cni(plugin, 'ADD', { ...good, type: plugin }, { ...att, netns: 'ghost' });
    expect(r.json).toMatchObject({ code: 3, msg: 'jail ghost does not exist' });
    expect(host.traceSince(mark).map((t) => `${t.tool} ${t.argv.join(' ')}`)).toEqual(['jls -j ghost jid name vnet']);
    expect(await host.interfaces()).toEqual(before);
  });

  test.each([
    ['loopback', '127.0.0.5/8', '127.0.0.1'],
    ['link-local', '169.254.7.5/16', '169.254.7.1'],
    ['multicast', '224.1.2.3/24', '224.1.2.1'],
    ['a gateway outside the subnet', '10.70.0.5/24', '10.71.0.1'],
    ['the default route', '10.70.0.5/0', '10.70.0.1'],
  ])('an IPAM result with %s: code 7, no change', async (_label, address, gateway) => {
    const before = await host.interfaces();
    const mark = host.traceMark();
    const r = await cni(plugin, 'ADD', { ...good, type: plugin, ipam: { ...ipam, address, gateway } }, att);
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toMatch(/^IPAM result: ips\[0\]: /);
    expect(readOnly(mark)).toEqual([]);
    expect(await host.interfaces()).toEqual(before);
  });
});

describe('bridge naming an interface that is not a bridge', () => {
  test.each(['em0', 'lo0', 'epair'])('%s: code 7 after reading it, no change', async (name) => {
    let bridge = name;
    if (name === 'epair') bridge = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const before = await host.interfaces();
    const mark = host.traceMark();
    const r = await cni('bridge', 'ADD', { ...good, bridge }, att);
    expect(r.json).toMatchObject({ code: 7, msg: `network configuration: field "bridge": interface ${bridge} exists and is not a bridge` });
    expect(host.traceSince(mark).map((t) => `${t.tool} ${t.argv.join(' ')}`)).toEqual(['jls -j victim jid name vnet', `ifconfig ${bridge}`]);
    expect(await host.interfaces()).toEqual(before);
    if (name === 'epair') await host.runOk('ifconfig', [bridge, 'destroy']);
  });
});
