import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { cniRunner } from '../helpers/cni-on-host';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { expectFailure } from '../helpers/reach';

// Issue 10.15: a jail attached while pf is off, or while the main ruleset lacks jailnet's hooks,
// would get no NAT and no published port without a word. The CLI and the hook refuse before ADD,
// with the lines pf.conf needs; under another runtime, portmap's ADD fails (a port that cannot
// work must not look published) and NAT is made with a warning in the plugin's log.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cli: Cli;
const HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');
const state = (id: string) => JSON.stringify({ ociVersion: '1.0.2', id, status: 'creating', pid: 1, bundle: '/nonexistent' });

beforeAll(async () => {
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env, { netns: host.hostNs });
  cli = jailnetCli(host, ipamd);
  await cli.ok(['network', 'create', 'default', '--subnet', '10.88.0.0/16']);
  for (const j of ['web', 'other']) await host.createJail(j);
  await host.startWorldServer({ proto: 'tcp', port: 8080 });
}, 60_000);
afterAll(async () => {
  cli?.cleanup();
  await ipamd?.stop();
  await host?.destroy();
});

/** What an attach would leave: host ends, leases, cached attachments. */
async function leftovers() {
  return {
    hostEnds: (await host.runOk('ifconfig', ['-g', 'jailnet_host'])).trim(),
    leases: (await ipamd.leases()).length,
    ps: JSON.parse(await cli.ok(['ps', '--json'])) as unknown[],
  };
}
const NOTHING = { hostEnds: '', leases: 0, ps: [] };

test('pf disabled: attach and the hook are refused with the lines pf.conf needs, and nothing changes', async () => {
  const r = await cli.run(['attach', 'web', '-p', '8080:80']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('pf is not enabled');
  expect(r.stderr).toContain('nat-anchor "jailnet/*"');
  expect(r.stderr).toContain('rdr-anchor "jailnet/*"');
  expect(await leftovers()).toEqual(NOTHING);
  const hook = await cli.run(['hook', 'create-runtime'], state('web'));
  expect(hook.code).toBe(1);
  expect(hook.stderr).toContain('pf is not enabled');
  expect(await leftovers()).toEqual(NOTHING);
});

test('under another runtime, pf disabled: portmap ADD fails (50) and publishes nothing; NAT is made with a warning', async () => {
  const log = join(cli.dir, 'plugins.log');
  const cni = cniRunner(host, { JAILNET_LOG_FILE: log });
  const list = JSON.parse(readFileSync(join(cli.env.JAILNET_CONF_DIR as string, 'default.conflist'), 'utf8')) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const [bridge, portmap] = list.plugins;
  const conf = (p: Record<string, unknown> | undefined, extra: object = {}) => ({ ...p, cniVersion: list.cniVersion, name: list.name, ...extra });
  const att = { containerId: 'other', netns: 'other' };
  const added = await cni('bridge', 'ADD', conf(bridge), att);
  expect(added.code).toBe(0);
  expect(readFileSync(log, 'utf8')).toContain('will not be translated');
  const pm = await cni('portmap', 'ADD', conf(portmap, { runtimeConfig: { portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] }, prevResult: added.json }), att);
  expect(pm.json).toMatchObject({ code: 50, msg: expect.stringContaining('pf is not enabled') });
  const forwards = JSON.parse((await ipamd.get('/v1/forwards')).body) as { forwards: unknown[] };
  expect(forwards.forwards).toEqual([]);
  expect((await cni('bridge', 'DEL', conf(bridge), att)).code).toBe(0);
  expect(await leftovers()).toEqual(NOTHING);
});

test('an isolated network (firewall same-bridge) needs `anchor "jailnet/*"`: attach, firewall ADD under another runtime (50) and its STATUS refuse without it; with it, the rules load', async () => {
  // Before any test has a firewall ADD succeed: jailnetd trusts a positive readiness answer a while.
  const translationOnly = HOOKS.split('\n').filter((l) => !l.startsWith('anchor ')).join('\n');
  await host.runOk('pfctl', ['-e']);
  await host.runOk('pfctl', ['-f', '-'], { input: translationOnly });
  const r = await cli.run(['attach', 'web']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('lacks `anchor "jailnet/*"`');
  expect(r.stderr).not.toContain('nat-anchor "jailnet/*"`');
  expect(await leftovers()).toEqual(NOTHING);

  const cni = cniRunner(host);
  const list = JSON.parse(readFileSync(join(cli.env.JAILNET_CONF_DIR as string, 'default.conflist'), 'utf8')) as { name: string; plugins: Record<string, unknown>[] };
  const [bridge, , firewall] = list.plugins;
  expect(firewall).toMatchObject({ type: 'firewall', ingressPolicy: 'same-bridge' });
  const conf = (p: Record<string, unknown> | undefined, extra: object = {}) => ({ ...p, cniVersion: '1.1.0', name: list.name, ...extra });
  const att = { containerId: 'other', netns: 'other' };
  const added = await cni('bridge', 'ADD', conf(bridge), att);
  expect(added.code).toBe(0);
  const refused = await cni('firewall', 'ADD', conf(firewall, { prevResult: added.json }), att);
  expect(refused.json).toMatchObject({ code: 50, msg: expect.stringContaining('lacks `anchor "jailnet/*"`') });
  expect(await host.runOk('pfctl', ['-a', 'jailnet/iso-default', '-s', 'rules'])).toBe('');
  expect((await cni('firewall', 'STATUS', conf(firewall))).json).toMatchObject({ code: 50, msg: expect.stringContaining('anchor "jailnet/*"') });

  // Positive control: with the filter hook, the same ADD loads the network's rules.
  await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
  expect((await cni('firewall', 'STATUS', conf(firewall))).code).toBe(0);
  expect((await cni('firewall', 'ADD', conf(firewall, { prevResult: added.json }), att)).code).toBe(0);
  expect(await host.runOk('pfctl', ['-a', 'jailnet/iso-default', '-s', 'rules'])).toContain('block return in quick on');
  expect((await cni('firewall', 'DEL', conf(firewall), att)).code).toBe(0);
  expect((await cni('bridge', 'DEL', conf(bridge), att)).code).toBe(0);
  expect(await host.runOk('pfctl', ['-a', 'jailnet/iso-default', '-s', 'rules'])).toBe('');
  expect(await leftovers()).toEqual(NOTHING);
  await host.runOk('pfctl', ['-F', 'all']);
  await host.runOk('pfctl', ['-d']);
});

test('pf enabled without the hooks: refused naming the missing hooks; with them, the port is published', async () => {
  await host.runOk('pfctl', ['-e']);
  const r = await cli.run(['attach', 'web', '-p', '8080:80']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('lacks `nat-anchor "jailnet/*"` and `rdr-anchor "jailnet/*"`');
  expect(await leftovers()).toEqual(NOTHING);
  expectFailure(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8080, timeoutMs: 1500 }), 'refused');
  // Positive control: with the hooks, the same attach works and the port answers the world.
  await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
  await host.startJailServer('web', { proto: 'tcp', port: 80 });
  await cli.ok(['attach', 'web', '-p', '8080:80']);
  expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8080 })).toMatchObject({ ok: true });
  await cli.ok(['detach', 'web']);
});
