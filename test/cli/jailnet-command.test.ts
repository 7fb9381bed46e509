import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { hostEndName } from '../../src/link/naming';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// The `jailnet` command on the emulated host: networks, attach/detach/check/ps/gc, runj's hooks.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cli: Cli;

beforeAll(async () => {
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env, { netns: host.hostNs });
  cli = jailnetCli(host, ipamd);
  await enablePfWithHooks(host);
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

describe('two networks: ports published once, each --ip on the network whose subnet holds it', () => {
  type Attached = { network: string; ifname: string; result: { ips: { address: string }[] } }[];
  const reservations = async (network: string) =>
    (JSON.parse((await ipamd.get(`/v1/ports?network=${network}`)).body) as { reservations: { containerID: string; ifname: string; ports: { hostPort: number }[] }[] }).reservations.map((r) => `${r.containerID}/${r.ifname}:${r.ports.map((p) => p.hostPort).join(',')}`);
  const leasesOf = async (jail: string) => (await ipamd.leases()).filter((l) => l.containerID === jail).map((l) => `${l.network}:${l.ips.map((ip) => ip.address).join(',')}`);

  test('attach -n default -n back -p 8090:80 -p 8091:81@back --ip <in back>', async () => {
    await host.createJail('multi');
    await host.startJailServer('multi', { proto: 'tcp', port: 80 });
    const out = JSON.parse(await cli.ok(['attach', 'multi', '-n', 'default', '-n', 'back', '-p', '8090:80', '-p', '8091:81@back', '--ip', '10.89.0.60', '--json'])) as Attached;
    expect(out.map((a) => [a.network, a.ifname])).toEqual([['default', 'eth0'], ['back', 'eth1']]);
    expect(out[1]?.result.ips.map((ip) => ip.address)).toEqual(['10.89.0.60/24']);
    expect(out[0]?.result.ips[0]?.address).toMatch(/^10\.88\./);
    // Each port once, on its network.
    expect(await reservations('default')).toEqual(['multi/eth0:8090']);
    expect(await reservations('back')).toEqual(['multi/eth1:8091']);
    expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8090 })).toMatchObject({ ok: true, reply: { local: out[0]?.result.ips[0]?.address.split('/')[0], localPort: 80 } });
    const ps = JSON.parse(await cli.ok(['ps', '--json'])) as { jail: string; network: string; ports: { hostPort: number }[] }[];
    expect(ps.filter((p) => p.jail === 'multi').map((p) => `${p.network}:${p.ports.map((x) => x.hostPort).join(',')}`).sort()).toEqual(['back:8091', 'default:8090']);
    await cli.ok(['detach', 'multi']);
    expect(await reservations('default')).toEqual([]);
    expect(await reservations('back')).toEqual([]);
  });

  test('an --ip no network holds, or a port for a network the jail does not join, is refused before anything changes', async () => {
    const before = await host.interfaces();
    const noNet = await cli.run(['attach', 'multi', '-n', 'default', '-n', 'back', '--ip', '10.99.0.5']);
    expect(noNet.code).toBe(1);
    expect(noNet.stderr).toContain('--ip 10.99.0.5 is in no subnet of the networks jail multi joins (default 10.88.0.0/16; back 10.89.0.0/24)');
    const noPort = await cli.run(['attach', 'multi', '-n', 'default', '-p', '8094:80@back']);
    expect(noPort.code).toBe(1);
    expect(noPort.stderr).toContain('network back is not one jail multi joins (default)');
    expect(await leasesOf('multi')).toEqual([]);
    expect(await host.interfaces()).toEqual(before);
  });

  test('the same through the hook: arguments, and the annotations (org.jailnet.ports with @NETWORK, org.jailnet.ips)', async () => {
    await host.createJail('ctr2');
    const state = (annotations: Record<string, string> = {}) => JSON.stringify({ ociVersion: '1.0.2', id: 'ctr2', status: 'creating', pid: 4243, bundle: '/var/run/ctr2', annotations });
    await cli.ok(['hook', 'create-runtime', '-n', 'default', '-n', 'back', '-p', '8092:80', '--ip', '10.89.0.61'], state());
    expect(await leasesOf('ctr2')).toEqual(expect.arrayContaining(['back:10.89.0.61/24']));
    expect(await reservations('default')).toEqual(['ctr2/eth0:8092']);
    expect(await reservations('back')).toEqual([]);
    await cli.ok(['hook', 'poststop'], state());
    await cli.ok(['hook', 'create-runtime'], state({ 'org.jailnet.networks': 'default,back', 'org.jailnet.ports': '8093:80@back', 'org.jailnet.ips': '10.89.0.62' }));
    expect(await leasesOf('ctr2')).toEqual(expect.arrayContaining(['back:10.89.0.62/24']));
    expect(await reservations('default')).toEqual([]);
    expect(await reservations('back')).toEqual(['ctr2/eth1:8093']);
    await host.removeJail('ctr2');
    await cli.ok(['hook', 'poststop'], state());
    expect(await leasesOf('ctr2')).toEqual([]);
  });
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
  // net.pf.filter_local is not jailnet's business any more: the userland proxy serves the host.
  expect(by['ports from the host']).toBeUndefined();
});
