import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import { cniRunner } from '../helpers/cni-on-host';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import type { TestDaemon } from '../helpers/jailnetd';
import { startRouter, type Router } from '../helpers/router';
import { withPluginHost } from '../helpers/plugin-host';

// A host that configures IPv6 from router advertisements (em0 with accept_rtadv, a real router
// in the world) keeps its IPv6 default route when jailnet turns on IPv6 forwarding: jailnet sets
// net.inet6.ip6.rfc6204w3=1 first (sys/netinet6/nd6_rtr.c), logs it, and doctor reports a host
// where it is missing.

let host: EmulatedHost;
let ipamd: TestDaemon;
let router: Router;
let cli: Cli;

withPluginHost(async (s) => {
  ({ host, ipamd } = s);
  cli = jailnetCli(host, ipamd);
  router = await startRouter(host);
  await host.runOk('route', ['-6', 'delete', 'default']);
  await host.runOk('ifconfig', ['em0', 'inet6', 'accept_rtadv']);
  await host.createJail('six');
}, 60_000);
afterAll(() => cli?.cleanup());

const v6Default = async () => (await host.runOk('netstat', ['-rn', '-f', 'inet6'])).split('\n').find((l) => l.startsWith('default'))?.split(/ +/)[1];

test('the host learns its IPv6 default route from the router', async () => {
  await router.sent(2);
  expect(await v6Default()).toBe(`${router.linkLocal}%em0`);
  expect(await host.runOk('sysctl', ['-n', 'net.inet6.ip6.forwarding', 'net.inet6.ip6.rfc6204w3'])).toBe('0\n0\n');
});

test('a dual-stack bridge turns on IPv6 forwarding after rfc6204w3=1: the default route stays', async () => {
  const logFile = join(host.dir, 'plugin.log');
  const cni = cniRunner(host, { JAILNET_LOG_FILE: logFile, JAILNET_LOG_LEVEL: 'info' });
  const conf = {
    cniVersion: '1.0.0',
    name: 'six',
    type: 'bridge',
    bridge: 'br-six',
    isGateway: true,
    ipam: ipamd.ipam([[{ subnet: '10.131.0.0/24' }], [{ subnet: 'fd31::/64' }]]),
  };
  const r = await cni('bridge', 'ADD', conf, { containerId: 'six', netns: 'six' });
  expect(r.code).toBe(0);
  expect(await host.runOk('sysctl', ['-n', 'net.inet6.ip6.forwarding', 'net.inet6.ip6.rfc6204w3'])).toBe('1\n1\n');
  expect(await v6Default()).toBe(`${router.linkLocal}%em0`);
  expect(readFileSync(logFile, 'utf8')).toContain('set net.inet6.ip6.rfc6204w3=1 before turning on net.inet6.ip6.forwarding');
  // Later advertisements keep it.
  await router.sent(2);
  expect(await v6Default()).toBe(`${router.linkLocal}%em0`);
  expect((await cni('bridge', 'DEL', conf, { containerId: 'six', netns: 'six' })).code).toBe(0);
});

test('doctor warns about forwarding without rfc6204w3 on a host that takes router advertisements', async () => {
  // doctor exits 1 here for other findings (pf is not enabled on this host).
  const finding = async () => (JSON.parse((await cli.run(['doctor', '--json'])).stdout) as { check: string; verdict: string; detail: string }[]).find((f) => f.check === 'IPv6 router advertisements');
  expect(await finding()).toMatchObject({ verdict: 'ok' });
  await host.runOk('sysctl', ['net.inet6.ip6.rfc6204w3=0']);
  expect(await finding()).toMatchObject({ verdict: 'warn', detail: expect.stringContaining('net.inet6.ip6.rfc6204w3=0') });
  await host.runOk('sysctl', ['net.inet6.ip6.rfc6204w3=1']);
});
