import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { cniRunner } from '../helpers/cni-on-host';

// Hostile values in every field and variable of the chained plugins nat and portmap: a clear
// error with a code, and not one host command run (the emulated host's trace stays empty) and
// no daemon contacted (the configurations name a socket nobody listens on).

let host: EmulatedHost;
let cni: ReturnType<typeof cniRunner>;

beforeAll(async () => {
  host = await createEmulatedHost();
  cni = cniRunner(host);
  await host.createJail('victim');
}, 60_000);
afterAll(() => host?.destroy());

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'jailnet0' }, { name: 'jn0123456789abc' }, { name: 'eth0', sandbox: 'victim' }],
  ips: [{ address: '10.70.0.5/24', gateway: '10.70.0.1', interface: 2 }],
};
const att = { containerId: 'c1', netns: 'victim' };
const mapping = { hostPort: 8080, containerPort: 80, protocol: 'tcp' };
const good = {
  nat: { cniVersion: '1.0.0', name: 'hostile', type: 'nat', socket: '/nonexistent/jailnetd.sock', autostart: false, prevResult },
  portmap: { cniVersion: '1.0.0', name: 'hostile', type: 'portmap', runtimeConfig: { portMappings: [mapping] }, socket: '/nonexistent/jailnetd.sock', autostart: false, prevResult },
};
const withMapping = (m: object) => ({ runtimeConfig: { portMappings: [{ ...mapping, ...m }] } });
const withIp = (address: string) => ({ prevResult: { ...prevResult, ips: [{ address, interface: 2 }] } });

const common: [string, object][] = [
  ['network name with a slash', { name: '../../etc' }],
  ['network name too long', { name: 'n'.repeat(49) }],
  ['prevResult address with a rule in it', withIp('10.70.0.5/24 -> 1.2.3.4')],
  ['prevResult address with a newline', withIp('10.70.0.5\nnat on em0/24')],
  ['prevResult address as an interface group', withIp('(em0)/24')],
  ['no prevResult', { prevResult: undefined }],
  ['cniVersion from the future', { cniVersion: '9.9.9' }],
];
const natCases: [string, object][] = [
  ['egressInterface with a space', { egressInterface: 'em0 up' }],
  ['egressInterface with a brace', { egressInterface: 'em0}' }],
  ['egressInterface as an option', { egressInterface: '-a' }],
  ['socket relative', { socket: 'x.sock' }],
];
const portmapCases: [string, object][] = [
  ['externalInterface with a parenthesis', { externalInterface: 'em0)' }],
  ['externalInterface with a newline', { externalInterface: 'em0\nrdr' }],
  ['bridge with a shell command', { bridge: 'br0;reboot' }],
  ['bridge name from prevResult', { prevResult: { ...prevResult, interfaces: [{ name: 'br0 }' }, ...prevResult.interfaces.slice(1)] } }],
  ['snat as a string', { snat: 'true' }],
  ['userlandProxy as a number', { userlandProxy: 1 }],
  ['conditionsV4 (iptables)', { conditionsV4: ['-j', 'ACCEPT'] }],
  ['socket relative', { socket: 'x.sock' }],
  ['daemon.path relative', { daemon: { path: '../jailnetd' } }],
  ['hostPort as a string', withMapping({ hostPort: '8080; reboot' })],
  ['hostPort too large', withMapping({ hostPort: 70000 })],
  ['hostPort negative', withMapping({ hostPort: -1 })],
  ['containerPort zero', withMapping({ containerPort: 0 })],
  ['containerPort fractional', withMapping({ containerPort: 80.5 })],
  ['hostPortEnd below hostPort', withMapping({ hostPortEnd: 80 })],
  ['protocol with a rule', withMapping({ protocol: 'tcp -> 1.2.3.4' })],
  ['protocol sctp', withMapping({ protocol: 'sctp' })],
  ['hostIP with a command', withMapping({ hostIP: '`id`' })],
  ['hostIP as a network', withMapping({ hostIP: '0.0.0.0/0' })],
  ['hostIP as a table', withMapping({ hostIP: '<masq>' })],
  ['hostIP of a family the jail lacks', withMapping({ hostIP: '2001:db8::1' })],
  ['portMappings not a list', { runtimeConfig: { portMappings: 'all' } }],
  ['two entries for one host port', { runtimeConfig: { portMappings: [mapping, { ...mapping, containerPort: 81 }] } }],
];

const envCases: [string, Record<string, string>][] = [
  ['CNI_NETNS as a Linux path', { netns: '/var/run/netns/x' }],
  ['CNI_NETNS with a shell command', { netns: 'victim;reboot' }],
  ['CNI_IFNAME with a semicolon', { ifname: 'eth0;id' }],
  ['CNI_IFNAME too long', { ifname: 'eth0123456789012' }],
  ['CNI_CONTAINERID with a shell command', { containerId: 'c1;reboot' }],
  ['CNI_CONTAINERID as an option', { containerId: '-c1' }],
  ['CNI_ARGS with an unknown key', { args: 'EVIL=1' }],
];

describe.each([
  ['nat', [...common, ...natCases]],
  ['portmap', [...common, ...portmapCases]],
] as const)('%s', (plugin, cases) => {
  test.each(cases)('config: %s', async (_label, extra) => {
    const mark = host.traceMark();
    const r = await cni(plugin, 'ADD', { ...good[plugin], ...extra }, att);
    expect(r.code).toBe(1);
    expect([1, 2, 6, 7]).toContain(r.json?.code);
    expect(String(r.json?.msg).length).toBeGreaterThan(10);
    expect(host.traceSince(mark)).toEqual([]);
  });

  test.each(envCases)('environment: %s', async (_label, e) => {
    const mark = host.traceMark();
    const r = await cni(plugin, 'ADD', good[plugin], { ...att, ...e });
    expect(r.code).toBe(1);
    expect(r.json?.code).toBe(4);
    expect(host.traceSince(mark)).toEqual([]);
  });

  test('DEL and CHECK refuse hostile names the same way', async () => {
    const mark = host.traceMark();
    expect((await cni(plugin, 'DEL', good[plugin], { ...att, ifname: 'eth0;id' })).json?.code).toBe(4);
    expect((await cni(plugin, 'DEL', good[plugin], { ...att, netns: 'x y' })).json?.code).toBe(4);
    expect((await cni(plugin, 'CHECK', good[plugin], { ...att, netns: '/proc/1/ns/net' })).json?.code).toBe(4);
    expect(host.traceSince(mark)).toEqual([]);
  });
});
