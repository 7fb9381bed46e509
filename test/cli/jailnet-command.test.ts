import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { hostEndName } from '../../src/link/naming';

// The `jailnet` command on the emulated host: networks, attach/detach/check/ps/gc, runj's hooks.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cli: Cli;
const HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');

beforeAll(async () => {
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env);
  cli = jailnetCli(host, ipamd);
  await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
  await host.runOk('pfctl', ['-e']);
  for (const j of ['web', 'db']) await host.createJail(j);
}, 60_000);
afterAll(async () => {
  cli?.cleanup();
  await ipamd?.stop();
  await host?.destroy();
});

const ping = (jail: string, address: string) => host.jexec(jail, ['/usr/bin/ping', '-c', '1', '-W', '2', address]);

test('network create, ls, validate; a clashing subnet and a bad name are refused', async () => {
  expect(await cli.ok(['network', 'create', 'default', '--subnet', '10.88.0.0/16'])).toContain('network default created (10.88.0.0/16, bridge jailnet0)');
  expect(await cli.ok(['network', 'create', 'back', '--subnet', '10.89.0.0/24', '--internal'])).toContain('bridge jailnet1');
  const ls = JSON.parse(await cli.ok(['network', 'ls', '--json'])) as { name: string; bridge: string }[];
  expect(ls.map((n) => [n.name, n.bridge])).toEqual([['back', 'jailnet1'], ['default', 'jailnet0']]);
  expect(await cli.ok(['network', 'validate'])).toContain('2 network file(s) valid');
  const clash = await cli.run(['network', 'create', 'x', '--subnet', '10.88.5.0/24']);
  expect(clash).toMatchObject({ code: 1 });
  expect(clash.stderr).toContain('overlaps network default');
  const bad = await cli.run(['network', 'create', 'a;b', '--subnet', '10.90.0.0/24']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('invalid network name');
});

test('attach two jails; they talk, reach the world through NAT; ps and check', async () => {
  await host.startWorldServer({ proto: 'tcp', port: 8081 });
  const web = await cli.ok(['attach', 'web', '-n', 'default', '-n', 'back', '--json']);
  const webAttached = JSON.parse(web) as { network: string; ifname: string; result: { ips: { address: string }[] } }[];
  expect(webAttached.map((a) => [a.network, a.ifname])).toEqual([['default', 'eth0'], ['back', 'eth1']]);
  await cli.ok(['attach', 'db']);
  const ps = JSON.parse(await cli.ok(['ps', '--json'])) as { jail: string; network: string; ips: string[] }[];
  expect(ps.map((p) => `${p.jail}/${p.network}`).sort()).toEqual(['db/default', 'web/back', 'web/default']);
  const dbIp = ps.find((p) => p.jail === 'db')?.ips[0]?.split('/')[0] as string;
  expect((await ping('web', dbIp)).code).toBe(0);
  expect(await host.request('web', { proto: 'tcp', address: host.worldAddress, port: 8081 })).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  expect(await cli.ok(['check', 'web'])).toContain('2 attachment(s) as expected');
  expect((await cli.run(['attach', 'web', '-n', 'default'])).stderr).toContain('already attached to network default');
});

test('detach removes everything of a jail; network rm refuses while jails are attached', async () => {
  expect((await cli.run(['network', 'rm', 'default'])).stderr).toContain('has attached jails');
  expect(await cli.ok(['detach', 'web'])).toContain('web detached from');
  expect((await host.interfaces()).jails.web?.map((i) => i.name)).toEqual(['lo0']);
  expect((await ipamd.leases()).map((l) => l.containerID)).toEqual(['db']);
  expect(await cli.ok(['detach', 'web'])).toContain('was not attached');
});

test('runj hooks: createRuntime attaches from annotations, poststop detaches after the jail is gone', async () => {
  await host.createJail('ctr1');
  const state = (status: string) => JSON.stringify({ ociVersion: '1.0.2', id: 'ctr1', status, pid: 4242, bundle: '/var/run/ctr1', annotations: { 'nerdctl/networks': '["back"]' } });
  await cli.ok(['hook', 'create-runtime'], state('creating'));
  expect((await ipamd.leases('back')).map((l) => l.containerID)).toEqual(['ctr1']);
  await host.removeJail('ctr1');
  await cli.ok(['hook', 'poststop'], state('stopped'));
  expect(await ipamd.leases('back')).toEqual([]);
  const names = (await host.interfaces()).host.map((i) => i.name);
  expect(names).not.toContain(hostEndName('ctr1', 'eth0'));
  expect(names).not.toContain('eth0');
  const bad = await cli.run(['hook', 'create-runtime'], '{"id": "x;reboot"}');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('invalid jail name');
});

test('attach --ip and --mac reach IPAM and the jail end; -p on a network without portmap is refused', async () => {
  await host.createJail('fixed');
  const out = JSON.parse(await cli.ok(['attach', 'fixed', '-n', 'back', '--ip', '10.89.0.50', '--mac', '02:00:00:00:aa:01', '--json'])) as { result: { ips: { address: string }[]; interfaces: { name: string; mac?: string }[] } }[];
  expect(out[0]?.result.ips[0]?.address).toBe('10.89.0.50/24');
  expect(out[0]?.result.interfaces[2]).toMatchObject({ name: 'eth0', mac: '02:00:00:00:aa:01' });
  await cli.ok(['detach', 'fixed']);
  // A network file written by hand, without portmap.
  writeFileSync(join(cli.dir, 'networks', 'plain.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'plain', plugins: [{ type: 'bridge', bridge: 'jailnet9', ipam: ipamd.ipam([[{ subnet: '10.87.0.0/24' }]]) }] }));
  const noPortmap = await cli.run(['attach', 'fixed', '-n', 'plain', '-p', '8080:80']);
  expect(noPortmap.code).toBe(1);
  expect(noPortmap.stderr).toContain('network plain cannot take -p');
  rmSync(join(cli.dir, 'networks', 'plain.conflist'));
  await host.removeJail('fixed');
});

test('gc detaches the attachments of jails that vanished without poststop', async () => {
  await host.removeJail('db');
  expect(await cli.ok(['gc'])).toContain('1 attachment(s) of vanished jails detached');
  expect(await ipamd.leases()).toEqual([]);
  expect(JSON.parse(await cli.ok(['ps', '--json']))).toEqual([]);
});

test('network rm removes the file, the bridge and the NAT anchor', async () => {
  await cli.ok(['network', 'rm', 'default']);
  expect((await host.interfaces()).host.map((i) => i.name)).not.toContain('jailnet0');
  expect(await host.runOk('pfctl', ['-a', 'jailnet/nat-default', '-s', 'nat'])).toBe('');
  expect(JSON.parse(await cli.ok(['network', 'ls', '--json'])).map((n: { name: string }) => n.name)).toEqual(['back']);
});

test('doctor reports what is ready and what is not', async () => {
  const r = await cli.run(['doctor', '--json']);
  const findings = JSON.parse(r.stdout) as { check: string; verdict: string }[];
  const by = Object.fromEntries(findings.map((f) => [f.check, f.verdict]));
  expect(by).toMatchObject({ 'vnet jails': 'ok', pf: 'ok', 'pf hooks': 'ok', jailnetd: 'ok', 'network back': 'ok' });
  expect(by['ports from the host']).toBe('warn');
});
