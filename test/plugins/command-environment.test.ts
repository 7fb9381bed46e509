import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import { cniRunner, firstIpv4 } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { bridgeNetwork, withPluginHost } from '../helpers/plugin-host';

// Every FreeBSD command runs with one fixed environment (src/freebsd/exec.ts COMMAND_ENV): what
// the runtime's environment holds never changes what a command prints. IFCONFIG_FORMAT is the
// variable that would: ifconfig reads it like -f (sbin/ifconfig/ifconfig.c), and addr:host
// prints names where the parsers read addresses.

let host: EmulatedHost;
let ipamd: TestDaemon;

const FORMAT = 'addr:host,ether:dash,inet:dotted,inet6:cidr';

withPluginHost(async (s) => {
  ({ host, ipamd } = s);
  // The emulated host's /etc/hosts names the network's gateway, so addr:host has a name to print.
  mkdirSync(join(host.dir, 'etc'), { recursive: true });
  writeFileSync(join(host.dir, 'etc', 'hosts'), '10.93.0.1 gw.jailnet.test gw\n');
  await host.createJail('envj');
}, 60_000);

test('the emulated ifconfig honours IFCONFIG_FORMAT as FreeBSD does (the control: the variable matters)', async () => {
  const net = bridgeNetwork(ipamd, 'envctl', '10.93.0.0/24');
  const cni = cniRunner(host);
  const add = await cni('bridge', 'ADD', net, { containerId: 'envctl', netns: 'envj' });
  expect(add.code).toBe(0);
  const plain = await host.runOk('ifconfig', ['br-envctl']);
  expect(plain).toMatch(/\tinet 10\.93\.0\.1 netmask 0xffffff00 /);
  const formatted = await host.runOk('ifconfig', ['br-envctl'], { env: { ...host.env, IFCONFIG_FORMAT: FORMAT } });
  expect(formatted).toMatch(/\tinet gw netmask 255\.255\.255\.0 /);
  expect(formatted).toMatch(/\tether ([0-9a-f]{2}-){5}[0-9a-f]{2}\n/);
  expect((await cni('bridge', 'DEL', net, { containerId: 'envctl', netns: 'envj' })).code).toBe(0);
});

test('IFCONFIG_FORMAT in the caller\'s environment changes nothing: ADD, CHECK and DEL give what they give without it', async () => {
  const net = bridgeNetwork(ipamd, 'envfmt', '10.93.0.0/24');
  const att = { containerId: 'envfmt', netns: 'envj' };
  const cni = cniRunner(host, { IFCONFIG_FORMAT: FORMAT, LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' });
  const add = await cni('bridge', 'ADD', net, att);
  expect(add.stdout).not.toMatch(/"code"/);
  expect(add.code).toBe(0);
  const result = add.json as { interfaces: { name: string; mac?: string }[]; ips: { address: string; gateway: string }[] };
  // MACs as ifconfig prints them by default (colons), addresses as numbers.
  for (const i of result.interfaces) if (i.mac !== undefined) expect(i.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  expect(result.ips[0]?.gateway).toBe('10.93.0.1');
  expect(firstIpv4(result)).toMatch(/^10\.93\.0\.\d+$/);
  // A second ADD finds the bridge and reads its gateway address back through ifconfig.
  const second = await cni('bridge', 'ADD', net, { containerId: 'envfmt2', netns: 'envj', ifname: 'eth1' });
  expect(second.stdout).not.toMatch(/"code"/);
  expect(second.code).toBe(0);
  const check = await cni('bridge', 'CHECK', { ...net, prevResult: result }, att);
  expect(check.stdout).toBe('');
  expect(check.code).toBe(0);
  expect((await cni('bridge', 'DEL', net, { containerId: 'envfmt2', netns: 'envj', ifname: 'eth1' })).code).toBe(0);
  expect((await cni('bridge', 'DEL', { ...net, prevResult: result }, att)).code).toBe(0);
  expect((await host.interfaces()).jails['envj']?.map((i) => i.name)).toEqual(['lo0']);
});
