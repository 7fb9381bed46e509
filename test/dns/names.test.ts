import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DnsStatusResponse } from '../../src/ipam/api-types';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { expectFailure } from '../helpers/reach';
import { dig, hostResolvConf, startWorldDns, WORLD_ZONE } from './helpers';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// jailnetd's DNS server on the emulated host, asked by dig inside the jails: names and aliases
// on one network, nothing of it from another, forwarding to a real DNS server (dnsmasq) in the
// world namespace with the host's search list and TCP after truncation, names gone after detach.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cli: Cli;
let resolv: ReturnType<typeof hostResolvConf>;
const FRONT_GW = '10.88.0.1';
const BACK_GW = '10.89.0.1';
const ips: Record<string, string> = {};

beforeAll(async () => {
  host = await createEmulatedHost();
  resolv = hostResolvConf(host);
  // The jail check runs often, for the test of a jail that vanishes without detach.
  ipamd = await startJailnetd(host.env, { netns: host.hostNs, args: ['--resolv-conf', resolv.path, '--reclaim-interval', '0.5', '--reclaim-grace', '1'] });
  cli = jailnetCli(host, ipamd);
  await enablePfWithHooks(host);
  await startWorldDns(host);
  await cli.ok(['network', 'create', 'front', '--subnet', '10.88.0.0/24']);
  await cli.ok(['network', 'create', 'back', '--subnet', '10.89.0.0/24', '--internal']);
  for (const j of ['web', 'db', 'other']) await host.createJail(j);
  const attach = async (jail: string, args: string[]) => {
    const out = JSON.parse(await cli.ok(['attach', jail, ...args, '--json'])) as { result: { ips: { address: string }[]; dns?: unknown } }[];
    ips[jail] = out[0]?.result.ips[0]?.address.split('/')[0] as string;
    return out;
  };
  const web = await attach('web', ['-n', 'front', '--alias', 'www']);
  expect(web[0]?.result.dns).toEqual({ nameservers: [FRONT_GW], domain: 'front', search: ['front'], options: ['timeout:2', 'attempts:5'] });
  await attach('db', ['-n', 'front', '--name', 'database', '--alias', 'shared']);
  await attach('other', ['-n', 'back', '--alias', 'shared']);
}, 120_000);

afterAll(async () => {
  cli?.cleanup();
  await ipamd?.stop();
  await host?.destroy();
  resolv?.cleanup();
});

test('two jails on one network find each other by name, by alias and by address', async () => {
  for (const name of ['db', 'db.front', 'database', 'database.front', 'shared.front', 'DB.Front']) {
    const r = await dig(host, 'web', FRONT_GW, [name]);
    expect({ name, status: r.status, answers: r.answers }).toEqual({ name, status: 'NOERROR', answers: [`A ${ips.db}`] });
    expect(r.flags).toContain('aa');
  }
  expect((await dig(host, 'db', FRONT_GW, ['www.front'])).answers).toEqual([`A ${ips.web}`]);
  expect((await dig(host, 'db', FRONT_GW, ['web'])).answers).toEqual([`A ${ips.web}`]);
  // PTR: the first name, in the network's domain (--name comes before the jail's own).
  expect((await dig(host, 'web', FRONT_GW, ['-x', ips.db as string])).answers).toEqual(['PTR database.front.']);
  // Over TCP as well.
  expect((await dig(host, 'web', FRONT_GW, ['+tcp', 'db'])).answers).toEqual([`A ${ips.db}`]);
  // A name of the network without such a jail: NXDOMAIN, authoritative, never asked upstream.
  const missing = await dig(host, 'web', FRONT_GW, ['nothere.front']);
  expect(missing.status).toBe('NXDOMAIN');
  expect(missing.flags).toContain('aa');
});

test('a jail on another network gets NXDOMAIN for them, and its own network\'s names', async () => {
  // The positive control: "shared" on back is other itself.
  expect((await dig(host, 'other', BACK_GW, ['shared'])).answers).toEqual([`A ${ips.other}`]);
  for (const name of ['db.front', 'database.front', 'web.front', 'shared.front']) {
    expect({ name, status: (await dig(host, 'other', BACK_GW, [name])).status }).toEqual({ name, status: 'NXDOMAIN' });
  }
  // A bare name it does not have is asked upstream, which does not know it either.
  expect((await dig(host, 'other', BACK_GW, ['db'])).status).toBe('NXDOMAIN');
  expect((await dig(host, 'other', BACK_GW, ['-x', ips.db as string])).status).toBe('NXDOMAIN');
});

test('isolated networks (network create\'s default): connections from another network are refused, yet jails ask their gateway', async () => {
  // pf evaluates jailnet/* in name order (strcmp): the DNS passes before the isolation blocks.
  const anchors = (await host.runOk('pfctl', ['-a', 'jailnet', '-s', 'Anchors'])).split('\n').map((l) => l.trim());
  for (const net of ['front', 'back']) {
    expect(anchors).toContain(`jailnet/iso-${net}`);
    expect(anchors.indexOf(`jailnet/0dns-${net}`)).toBeLessThan(anchors.indexOf(`jailnet/iso-${net}`));
  }
  const servers = [await host.startJailServer('db', { proto: 'tcp', port: 80 }), await host.startJailServer('other', { proto: 'tcp', port: 80 })];
  try {
    // The positive control on one network, and back's isolation against front's jail.
    expect(await host.request('web', { proto: 'tcp', address: ips.db as string, port: 80 })).toMatchObject({ ok: true });
    expectFailure(await host.request('web', { proto: 'tcp', address: ips.other as string, port: 80 }), 'refused');
  } finally {
    for (const s of servers) await s.stop();
  }
  // Each jail still reaches its gateway's port 53, over udp and tcp.
  expect((await dig(host, 'web', FRONT_GW, ['db'])).answers).toEqual([`A ${ips.db}`]);
  expect((await dig(host, 'web', FRONT_GW, ['+tcp', 'db'])).answers).toEqual([`A ${ips.db}`]);
  expect((await dig(host, 'other', BACK_GW, ['other'])).answers).toEqual([`A ${ips.other}`]);
});

test('podman\'s isolated policy: jails of one bridge cannot connect to each other, yet both ask the gateway for each other\'s names', async () => {
  await cli.ok(['network', 'create', 'priv', '--subnet', '10.91.0.0/24']);
  const file = join(cli.env.JAILNET_CONF_DIR as string, 'priv.conflist');
  const list = JSON.parse(readFileSync(file, 'utf8')) as { plugins: { type: string; ingressPolicy?: string }[] };
  for (const p of list.plugins) if (p.type === 'firewall') p.ingressPolicy = 'isolated';
  writeFileSync(file, JSON.stringify(list));
  const got: Record<string, string> = {};
  for (const j of ['pi1', 'pi2']) {
    await host.createJail(j);
    const out = JSON.parse(await cli.ok(['attach', j, '-n', 'priv', '--json'])) as { result: { ips: { address: string }[] } }[];
    got[j] = out[0]?.result.ips[0]?.address.split('/')[0] as string;
  }
  const server = await host.startJailServer('pi2', { proto: 'tcp', port: 80 });
  try {
    expectFailure(await host.request('pi1', { proto: 'tcp', address: got.pi2 as string, port: 80 }), 'refused');
    // The positive control: the gateway's DNS server, by udp and tcp, answers pi2's name.
    expect((await dig(host, 'pi1', '10.91.0.1', ['pi2'])).answers).toEqual([`A ${got.pi2}`]);
    expect((await dig(host, 'pi1', '10.91.0.1', ['+tcp', 'pi2.priv'])).answers).toEqual([`A ${got.pi2}`]);
  } finally {
    await server.stop();
  }
  for (const j of ['pi1', 'pi2']) {
    await cli.ok(['detach', j]);
    await host.removeJail(j);
  }
  await cli.ok(['network', 'rm', 'priv']);
});

test('a gateway answers only its own jails: REFUSED to anyone else who reaches it', async () => {
  // The world routes to front through em0, as a neighbour on the host's LAN could.
  await host.worldExec(['ip', 'route', 'replace', '10.88.0.0/24', 'via', host.em0Address]);
  const fromWorld = await host.worldExec(['/usr/bin/dig', '+time=2', '+tries=1', `@${FRONT_GW}`, 'db.front']);
  expect(fromWorld.stdout).toContain('status: REFUSED');
  expect(fromWorld.stdout).not.toContain(ips.db as string);
  // Forwarding is refused too: the host is no open resolver.
  expect((await host.worldExec(['/usr/bin/dig', '+time=2', '+tries=1', `@${FRONT_GW}`, WORLD_ZONE.www.name])).stdout).toContain('status: REFUSED');
  // The positive control through the same gateway.
  expect((await dig(host, 'web', FRONT_GW, ['db.front'])).status).toBe('NOERROR');
});

test('other names are forwarded to the host\'s resolvers, with their search list, over udp and tcp', async () => {
  const www = await dig(host, 'web', FRONT_GW, [WORLD_ZONE.www.name]);
  expect({ status: www.status, answers: www.answers }).toEqual({ status: 'NOERROR', answers: [`A ${WORLD_ZONE.www.a}`] });
  expect((await dig(host, 'web', FRONT_GW, [WORLD_ZONE.www.name, 'AAAA'])).answers).toEqual([`AAAA ${WORLD_ZONE.www.aaaa}`]);
  expect((await dig(host, 'web', FRONT_GW, ['+tcp', WORLD_ZONE.www.name])).answers).toEqual([`A ${WORLD_ZONE.www.a}`]);
  expect((await dig(host, 'web', FRONT_GW, ['nowhere.example.test'])).status).toBe('NXDOMAIN');
  // "intranet" with the host's search list (search corp.test): a CNAME to the name found.
  expect((await dig(host, 'web', FRONT_GW, ['intranet'])).answers).toEqual([`CNAME ${WORLD_ZONE.intranet.name}.`, `A ${WORLD_ZONE.intranet.a}`]);
  // An answer longer than 512 bytes to a client without EDNS: the upstream truncates it over
  // udp, jailnetd asks again over tcp, tells the client to ask over tcp, and the client gets all.
  const big = await dig(host, 'web', FRONT_GW, ['+noedns', WORLD_ZONE.big.name, 'TXT']);
  expect(big.stdout).toContain('Truncated, retrying in TCP mode');
  expect(big.answers).toHaveLength(WORLD_ZONE.big.count);
});

test('epair network: one socket on the gateway address serves every host end that carries it', async () => {
  const conflist = { cniVersion: '1.1.0', name: 'p2p', plugins: [{ type: 'epair', capabilities: { aliases: true }, ipam: ipamd.ipam([[{ subnet: '10.90.0.0/24' }]]) }] };
  writeFileSync(join(cli.env.JAILNET_CONF_DIR as string, 'p2p.conflist'), JSON.stringify(conflist));
  const gw = '10.90.0.1';
  const got: Record<string, string> = {};
  for (const j of ['pa', 'pb']) {
    await host.createJail(j);
    const out = JSON.parse(await cli.ok(['attach', j, '-n', 'p2p', '--alias', `${j}-alias`, '--json'])) as { result: { ips: { address: string }[]; dns?: { nameservers?: string[] } } }[];
    expect(out[0]?.result.dns?.nameservers).toEqual([gw]);
    got[j] = out[0]?.result.ips[0]?.address.split('/')[0] as string;
  }
  expect((await dig(host, 'pa', gw, ['pb.p2p'])).answers).toEqual([`A ${got.pb}`]);
  expect((await dig(host, 'pb', gw, ['pa-alias'])).answers).toEqual([`A ${got.pa}`]);
  // pa's host end, one holder of the gateway address, goes; pb's socket stays.
  await cli.ok(['detach', 'pa']);
  expect((await dig(host, 'pb', gw, ['pa.p2p'])).status).toBe('NXDOMAIN');
  expect((await dig(host, 'pb', gw, ['pb'])).answers).toEqual([`A ${got.pb}`]);
  await cli.ok(['detach', 'pb']);
  expect((await host.hostExec(['ss', '-Hlun', `src ${gw}`])).stdout.trim()).toBe('');
});

test("the runj hook writes the jail's resolv.conf into the bundle's root, never through a link", async () => {
  const bundles = mkdtempSync(join(tmpdir(), 'jailnet-bundles-'));
  const bundle = (name: string, rootPath: string) => {
    const dir = join(bundles, name);
    mkdirSync(join(dir, 'rootfs', 'etc'), { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', root: { path: rootPath } }));
    return dir;
  };
  const state = (id: string, dir: string, annotations: Record<string, string>) => JSON.stringify({ ociVersion: '1.0.2', id, status: 'creating', pid: 1, bundle: dir, annotations: { 'org.jailnet.networks': 'front', ...annotations } });
  try {
    // root.path relative to the bundle; the name from the annotation. The jail's root is the
    // bundle's, as runj makes it: its programs read the resolv.conf the hook writes there.
    const ctr = bundle('ctr', 'rootfs');
    await host.runOk('jail', ['-c', 'name=ctr', `path=${join(ctr, 'rootfs')}`, 'persist', 'vnet']);
    await cli.ok(['hook', 'create-runtime'], state('ctr', ctr, { 'org.jailnet.name': 'api' }));
    expect(readFileSync(join(ctr, 'rootfs/etc/resolv.conf'), 'utf8')).toBe(`# written by jailnet (docs/dns.md)\nsearch front\nnameserver ${FRONT_GW}\noptions timeout:2 attempts:5\n`);
    const ctrIp = (await ipamd.leases('front')).find((l) => l.containerID === 'ctr')?.ips[0]?.address.split('/')[0];
    expect((await dig(host, 'web', FRONT_GW, ['api'])).answers).toEqual([`A ${ctrIp}`]);
    // The libc resolver in the jail, with that file: the search list makes "web" web.front.
    const getent = async (name: string) => (await host.jexec('ctr', ['/usr/bin/getent', 'hosts', name])).stdout.trim().split(/\s+/);
    expect(await getent('web')).toEqual([ips.web, 'web.front']);
    expect(await getent('api')).toEqual([ctrIp, 'api.front']);
    expect(await getent(WORLD_ZONE.www.name)).toEqual([WORLD_ZONE.www.aaaa, WORLD_ZONE.www.name]);
    await host.removeJail('ctr');
    await cli.ok(['hook', 'poststop'], state('ctr', ctr, {}));

    // An image whose /etc/resolv.conf is a link out of the jail: refused, the target untouched, nothing left attached.
    await host.createJail('evil');
    const evil = bundle('evil', join(bundles, 'evil', 'rootfs'));
    const outside = join(bundles, 'host-file');
    writeFileSync(outside, 'precious\n');
    symlinkSync(outside, join(evil, 'rootfs/etc/resolv.conf'));
    const refused = await cli.run(['hook', 'create-runtime'], state('evil', evil, {}));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is not a regular file (a symbolic link is not followed)');
    expect(readFileSync(outside, 'utf8')).toBe('precious\n');
    expect((await ipamd.leases()).filter((l) => l.containerID === 'evil')).toEqual([]);
    // The same with an etc that is a link.
    rmSync(join(evil, 'rootfs/etc'), { recursive: true });
    symlinkSync(bundles, join(evil, 'rootfs/etc'));
    expect((await cli.run(['hook', 'create-runtime'], state('evil', evil, {}))).stderr).toContain('is not a directory (a symbolic link is not followed)');
    expect(existsSync(join(bundles, 'resolv.conf'))).toBe(false);

    // Told not to: the image's file stays.
    rmSync(join(evil, 'rootfs/etc'));
    mkdirSync(join(evil, 'rootfs/etc'));
    writeFileSync(join(evil, 'rootfs/etc/resolv.conf'), 'nameserver 192.0.2.53\n');
    await cli.ok(['hook', 'create-runtime'], state('evil', evil, { 'org.jailnet.resolv-conf': 'false' }));
    expect(readFileSync(join(evil, 'rootfs/etc/resolv.conf'), 'utf8')).toBe('nameserver 192.0.2.53\n');
    await host.removeJail('evil');
    await cli.ok(['hook', 'poststop'], state('evil', evil, {}));
  } finally {
    rmSync(bundles, { recursive: true, force: true });
  }
});

test('a query sent while jailnetd restarts is retried by the resolver and answered by the new one', async () => {
  let asked: Promise<{ code: number | null; stdout: string }> | undefined;
  await ipamd.restart(async () => {
    // The resolver's options of the result (timeout:2 attempts:5) as dig's; its lines as they come.
    const child = host.spawnInJail('web', ['/usr/bin/stdbuf', '-oL', '/usr/bin/dig', '+time=2', '+tries=5', `@${FRONT_GW}`, 'db.front']);
    let stdout = '';
    const firstTry = new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('timed out')) resolve();
      });
      child.once('exit', () => resolve());
    });
    asked = new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout })));
    // The first try went unanswered while nothing listened: dropped, not refused (a refusal ends dig at once).
    await firstTry;
    expect(stdout).toContain(`communications error to ${FRONT_GW}#53: timed out`);
  });
  const r = await (asked as Promise<{ code: number | null; stdout: string }>);
  expect(r.stdout).not.toContain('connection refused');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('status: NOERROR');
  expect(r.stdout).toMatch(new RegExp(`db\\.front\\.\\s+\\d+\\s+IN\\s+A\\s+${(ips.db as string).replace(/\./g, '\\.')}`));
});

test('names and the listener follow the attachments: gone after detach', async () => {
  const status = async () => JSON.parse((await ipamd.get('/v1/dns')).body) as DnsStatusResponse;
  expect((await status()).networks.find((n) => n.network === 'front')?.records.map((r) => r.name)).toEqual(['database', 'db', 'shared', 'web', 'www']);
  await cli.ok(['detach', 'db']);
  expect((await status()).networks.find((n) => n.network === 'front')?.records.map((r) => r.name)).toEqual(['web', 'www']);
  for (const name of ['db.front', 'database.front', 'shared.front']) expect({ name, status: (await dig(host, 'web', FRONT_GW, [name])).status }).toEqual({ name, status: 'NXDOMAIN' });
  expect((await dig(host, 'web', FRONT_GW, ['-x', ips.db as string])).status).toBe('NXDOMAIN');
  // The positive control: web is still found, and forwarding still works.
  expect((await dig(host, 'web', FRONT_GW, ['www'])).answers).toEqual([`A ${ips.web}`]);
  // The last attachment of back goes: its gateway is no longer listened on (udp: refused, no answer).
  await cli.ok(['detach', 'other']);
  expect((await status()).networks.map((n) => n.network)).toEqual(['front']);
  const sockets = await host.hostExec(['ss', '-Hlun', `src ${BACK_GW}`]);
  expect(sockets.stdout.trim()).toBe('');
  expect((await host.hostExec(['ss', '-Hlun', `src ${FRONT_GW}`])).stdout).toContain(`${FRONT_GW}:53`);
});

test('CNI GC of an attachment takes its names with its lease', async () => {
  await host.createJail('gone');
  const out = JSON.parse(await cli.ok(['attach', 'gone', '-n', 'front', '--alias', 'soon-gone', '--json'])) as { result: { ips: { address: string }[] } }[];
  const ip = out[0]?.result.ips[0]?.address.split('/')[0];
  expect((await dig(host, 'web', FRONT_GW, ['soon-gone'])).answers).toEqual([`A ${ip}`]);
  // The runtime's GC: only web is a valid attachment of front.
  const gc = await ipamd.post('/v1/gc', { network: 'front', validAttachments: [{ containerID: 'web', ifname: 'eth0' }] });
  expect(gc.status).toBe(200);
  for (const name of ['gone.front', 'soon-gone.front']) expect({ name, status: (await dig(host, 'web', FRONT_GW, [name])).status }).toEqual({ name, status: 'NXDOMAIN' });
  expect((await dig(host, 'web', FRONT_GW, ['web'])).answers).toEqual([`A ${ips.web}`]);
  await host.removeJail('gone');
  await cli.ok(['gc']);
});

test('a jail that vanishes without detach: the jail check takes its names', async () => {
  await host.createJail('vanish');
  const out = JSON.parse(await cli.ok(['attach', 'vanish', '-n', 'front', '--alias', 'short-lived', '--json'])) as { result: { ips: { address: string }[] } }[];
  const ip = out[0]?.result.ips[0]?.address.split('/')[0];
  expect((await dig(host, 'web', FRONT_GW, ['short-lived'])).answers).toEqual([`A ${ip}`]);
  // runj killed, no poststop: only jailnetd's jail check (every 0.5 s here, grace 1 s) notices.
  await host.removeJail('vanish');
  const names = async () => (JSON.parse((await ipamd.get('/v1/dns')).body) as DnsStatusResponse).networks.find((n) => n.network === 'front')?.records.map((r) => r.name) ?? [];
  for (let i = 0; i < 100 && (await names()).includes('short-lived'); i++) await new Promise((r) => setTimeout(r, 200));
  expect(await names()).not.toContain('short-lived');
  for (const name of ['vanish.front', 'short-lived.front']) expect({ name, status: (await dig(host, 'web', FRONT_GW, [name])).status }).toEqual({ name, status: 'NXDOMAIN' });
  // The positive control: a live jail's name stays.
  expect((await dig(host, 'web', FRONT_GW, ['web'])).answers).toEqual([`A ${ips.web}`]);
  await cli.ok(['gc']);
});

test('"dnsServer": false: no listener on that gateway and no dns in the result; the other network keeps its server', async () => {
  await cli.ok(['network', 'create', 'mute', '--subnet', '10.93.0.0/24']);
  const file = join(cli.env.JAILNET_CONF_DIR as string, 'mute.conflist');
  const list = JSON.parse(readFileSync(file, 'utf8')) as { plugins: Record<string, unknown>[] };
  (list.plugins[0] as Record<string, unknown>).dnsServer = false;
  writeFileSync(file, JSON.stringify(list));
  await host.createJail('mute1');
  const out = JSON.parse(await cli.ok(['attach', 'mute1', '-n', 'mute', '--json'])) as { result: { dns?: { nameservers?: string[] } } }[];
  expect(out[0]?.result.dns?.nameservers ?? []).not.toContain('10.93.0.1');
  expect((await host.hostExec(['ss', '-Hlun', 'src 10.93.0.1'])).stdout.trim()).toBe('');
  const asked = await host.jexec('mute1', ['/usr/bin/dig', '+time=2', '+tries=1', '@10.93.0.1', 'web.front'], { timeoutMs: 60_000 });
  // Nothing listens there: the host answers port unreachable, dig says so and gives up (9).
  expect({ code: asked.code, refused: /connection refused/.test(asked.stdout) }).toEqual({ code: 9, refused: true });
  // The positive control: front's gateway still answers its own jails.
  expect((await dig(host, 'web', FRONT_GW, ['web'])).answers).toEqual([`A ${ips.web}`]);
  await cli.ok(['detach', 'mute1']);
  await host.removeJail('mute1');
  await cli.ok(['network', 'rm', 'mute']);
});
