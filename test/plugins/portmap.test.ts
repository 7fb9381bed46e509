import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost, Fault } from '../harness/emulated-host';
import { firstIpv4 } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { hostEndName } from '../../src/link/naming';
import { portmapAnchor } from '../../src/pf/anchors';
import { expectFailure } from '../helpers/reach';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// portmap chained after bridge on the emulated host, with the hooks of conf/pf.conf: published
// ports answer the world and the other jails (through the host's address) through pf, and the
// host itself through jailnetd's userland proxy (jailnetd runs inside the emulated host).
// net.pf.filter_local stays 0: nothing sets it any more.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
const HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');
const NET = 'pm';
const GW = '10.66.0.1';
const EM0_ALIAS = '198.51.100.3';

type Mapping = { hostPort: number; containerPort: number; protocol: string; hostIP?: string; hostPortEnd?: number };

const bridgeConf = () => ({
  cniVersion: '1.0.0',
  name: NET,
  type: 'bridge',
  bridge: 'jailnet0',
  isDefaultGateway: true,
  ipam: ipamd.ipam([[{ subnet: '10.66.0.0/24' }], [{ subnet: 'fd00:66::/64' }]]),
});
const pmConf = (portMappings: Mapping[] | undefined, prevResult?: unknown, extra: object = {}) => ({
  cniVersion: '1.0.0',
  name: NET,
  type: 'portmap',
  capabilities: { portMappings: true },
  ...(portMappings ? { runtimeConfig: { portMappings } } : {}),
  socket: ipamd.socket,
  autostart: false,
  ...(prevResult ? { prevResult } : {}),
  ...extra,
});
const att = (jail: string) => ({ containerId: jail, netns: jail });
const prev: Record<string, Record<string, unknown>> = {};

const WEB_PORTS: Mapping[] = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 5353, containerPort: 53, protocol: 'udp' },
  // A range in one entry (jailnet's hostPortEnd) and a range as runtimes send it, port by port.
  { hostPort: 9000, hostPortEnd: 9002, containerPort: 7000, protocol: 'tcp' },
  { hostPort: 9100, containerPort: 7100, protocol: 'tcp' },
  { hostPort: 9101, containerPort: 7101, protocol: 'tcp' },
];
const API_PORTS = (hostIP: string): Mapping[] => [{ hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP }];

const tcp = (from: string, address: string, port: number, timeoutMs = 3000) => host.request(from, { proto: 'tcp', address, port, timeoutMs });
const anchors = async () => (await host.runOk('pfctl', ['-s', 'Anchors'])).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('jailnet/pm-'));
const reservations = async () => (JSON.parse((await ipamd.get(`/v1/ports?network=${NET}`)).body) as { reservations: { containerID: string; ports: unknown[] }[] }).reservations;
type Listener = { protocol: string; address: string; port: number };
const listeners = async (containerID: string) =>
  (JSON.parse((await ipamd.get(`/v1/forwards?network=${NET}&container=${containerID}`)).body) as { forwards: { listeners: Listener[] }[] }).forwards.flatMap((f) => f.listeners);
/** Listening sockets in the host's namespace on a port (ss), whoever holds them. */
const listening = async (proto: 'tcp' | 'udp', port: number) =>
  (await host.hostExec(['/usr/bin/ss', '-Hn', proto === 'tcp' ? '-lt' : '-lu', 'sport', '=', `:${port}`])).stdout.split('\n').filter(Boolean).length;
const natRules = async (anchor: string) => (await host.runOk('pfctl', ['-a', anchor, '-s', 'nat', '-P'])).trim().split('\n').filter(Boolean);

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  await enablePfWithHooks(host);
  await host.runOk('ifconfig', ['em0', 'inet', `${EM0_ALIAS}/24`, 'alias']);
  for (const j of ['web', 'api', 'client', 'other']) {
    await host.createJail(j);
    const r = await cni('bridge', 'ADD', bridgeConf(), att(j));
    if (r.code !== 0) throw new Error(`bridge ADD ${j}: ${r.stdout}`);
    prev[j] = r.json as Record<string, unknown>;
  }
  await host.startJailServer('web', { proto: 'tcp', port: 80 });
  await host.startJailServer('web', { proto: 'udp', port: 53 });
  for (const p of [7000, 7002, 7100, 7101]) await host.startJailServer('web', { proto: 'tcp', port: p });
  await host.startJailServer('api', { proto: 'tcp', port: 443 });
}, 120_000);

describe('published ports', () => {
  test('ADD passes prevResult through, loads one anchor, reserves the ports, listens: route + pfctl', async () => {
    const mark = host.traceMark();
    const r = await cni('portmap', 'ADD', pmConf(WEB_PORTS, prev.web), att('web'));
    expect(r.code).toBe(0);
    expect(r.json).toEqual(prev.web);
    const commands = host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`);
    // pf's readiness (two reads, trusted for a few seconds), the external interface, the anchor.
    expect(commands).toEqual(['pfctl -s info', 'pfctl -s nat', 'route -n get -inet default', `pfctl -a ${portmapAnchor(NET, 'web', 'eth0')} -f -`]);
    const web = firstIpv4(prev.web);
    expect(await natRules(portmapAnchor(NET, 'web', 'eth0'))).toEqual(
      expect.arrayContaining([
        `rdr pass on ! lo0 inet proto tcp from any to (em0) port = 8080 tag jailnet_rdr -> ${web} port 80`,
        `rdr pass on ! lo0 inet proto tcp from any to (jailnet0) port = 8080 tag jailnet_rdr -> ${web} port 80`,
        `nat on jailnet0 inet proto tcp from 10.66.0.0/24 to ${web} port = 80 tagged jailnet_rdr -> (jailnet0:0)`,
        `rdr pass on ! lo0 inet proto tcp from any to (em0) port 9000:9002 tag jailnet_rdr -> ${web} port 7000:7002`,
        `rdr pass on ! lo0 inet proto tcp from any to (em0) port 9100:9101 tag jailnet_rdr -> ${web} port 7100:7101`,
      ]),
    );
    expect(await reservations()).toEqual([
      expect.objectContaining({ containerID: 'web', jail: 'web', ports: expect.arrayContaining([{ hostIP: '', protocol: 'tcp', hostPort: 8080, hostPortEnd: 8080 }]) }),
    ]);
  });

  test('the world reaches the TCP service through em0:8080 and the service sees the world address', async () => {
    expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: host.worldAddress, local: firstIpv4(prev.web), localPort: 80 } });
    // Every address of em0 publishes it (here em0's second address).
    expect(await tcp('world', EM0_ALIAS, 8080)).toMatchObject({ ok: true, reply: { localPort: 80 } });
    // Over IPv6 too: the jail has an IPv6 address, em0 has one. (A bridge has no link-local
    // address, on FreeBSD as in the emulator. Linux sends no neighbour solicitation for a
    // forwarded packet out of an interface without one, where FreeBSD uses the bridge's global
    // address: the jail greets its gateway first so that the emulated host knows its link address.)
    await host.jexec('web', ['/usr/bin/ping', '-6', '-c', '1', '-W', '2', 'fd00:66::1']);
    expect(await tcp('world', host.em0Address6, 8080)).toMatchObject({ ok: true, reply: { peer: host.worldAddress6, localPort: 80 } });
    expectFailure(await tcp('world', host.em0Address, 8081, 1500), 'refused');
  });

  test('UDP mapping: em0:5353 reaches the jail on 53', async () => {
    expect(await host.request('world', { proto: 'udp', address: host.em0Address, port: 5353 })).toMatchObject({ ok: true, reply: { peer: host.worldAddress, localPort: 53 } });
  });

  test('ranges: one entry with hostPortEnd and neighbouring single entries map port to port', async () => {
    expect(await tcp('world', host.em0Address, 9000)).toMatchObject({ ok: true, reply: { localPort: 7000 } });
    expect(await tcp('world', host.em0Address, 9002)).toMatchObject({ ok: true, reply: { localPort: 7002 } });
    expect(await tcp('world', host.em0Address, 9100)).toMatchObject({ ok: true, reply: { localPort: 7100 } });
    expect(await tcp('world', host.em0Address, 9101)).toMatchObject({ ok: true, reply: { localPort: 7101 } });
  });

  test('hairpin: another jail reaches it through em0 and through its gateway; replies come back through the host', async () => {
    expect(await tcp('client', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, local: firstIpv4(prev.web), localPort: 80 } });
    expect(await tcp('client', GW, 8080)).toMatchObject({ ok: true, reply: { peer: GW, localPort: 80 } });
    // The jail itself, through the host's address.
    expect(await tcp('web', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { localPort: 80 } });
  });

  test('a jail talking to the other jail directly keeps its own address (pf sees bridged frames; the hairpin nat takes only redirected connections)', async () => {
    expect(await tcp('client', firstIpv4(prev.web), 80)).toMatchObject({ ok: true, reply: { peer: firstIpv4(prev.client), localPort: 80 } });
    expect(await tcp('client', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, localPort: 80 } });
  });

  test('the host itself reaches it through the userland proxy (TCP, UDP, IPv6, ranges); the jail sees the gateway', async () => {
    expect(await host.runOk('sysctl', ['net.pf.filter_local'])).toBe('net.pf.filter_local: 0\n');
    const web = firstIpv4(prev.web);
    expect(await tcp('host', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, local: web, localPort: 80 } });
    // Every address of the host: the proxy listens on the wildcard of each family the jail has.
    expect(await tcp('host', EM0_ALIAS, 8080)).toMatchObject({ ok: true, reply: { peer: GW, localPort: 80 } });
    expect(await tcp('host', GW, 8080)).toMatchObject({ ok: true, reply: { peer: GW, localPort: 80 } });
    expect(await tcp('host', host.em0Address6, 8080)).toMatchObject({ ok: true, reply: { peer: 'fd00:66::1', localPort: 80 } });
    expect(await host.request('host', { proto: 'udp', address: host.em0Address, port: 5353 })).toMatchObject({ ok: true, reply: { peer: GW, localPort: 53 } });
    expect(await tcp('host', host.em0Address, 9002)).toMatchObject({ ok: true, reply: { localPort: 7002 } });
    expect(await tcp('host', host.em0Address, 9101)).toMatchObject({ ok: true, reply: { localPort: 7101 } });
    // One socket per host port and family, held by jailnetd.
    expect(await listeners('web')).toEqual(
      expect.arrayContaining([
        { protocol: 'tcp', address: '0.0.0.0', port: 8080 },
        { protocol: 'tcp', address: '::', port: 8080 },
        { protocol: 'udp', address: '0.0.0.0', port: 5353 },
        { protocol: 'tcp', address: '0.0.0.0', port: 9002 },
      ]),
    );
    expect(await listeners('web')).toHaveLength(2 * (1 + 1 + 3 + 2));
    // A port nothing publishes is refused: the positive answers above came from the proxy.
    expect(await tcp('host', host.em0Address, 8081, 1500)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
  });

  test('another program cannot take a published port', async () => {
    expect(await listening('tcp', 8080)).toBe(2);
    await expect(host.startHostServer({ proto: 'tcp', port: 8080 })).rejects.toThrow(/EADDRINUSE/);
    await expect(host.startHostServer({ proto: 'udp', port: 5353 })).rejects.toThrow(/EADDRINUSE/);
  });

  test('hostIP: only that address publishes the port', async () => {
    const r = await cni('portmap', 'ADD', pmConf(API_PORTS(host.em0Address), prev.api), att('api'));
    expect(r.code).toBe(0);
    expect(await tcp('world', host.em0Address, 8443)).toMatchObject({ ok: true, reply: { localPort: 443 } });
    expectFailure(await tcp('world', EM0_ALIAS, 8443, 1500), 'refused');
    expect(await tcp('client', host.em0Address, 8443)).toMatchObject({ ok: true, reply: { peer: GW } });
    // An IPv4 hostIP publishes IPv4 only.
    expectFailure(await tcp('world', host.em0Address6, 8443, 1500), 'refused');
    // The host: the proxy listens on that address only.
    expect(await listeners('api')).toEqual([{ protocol: 'tcp', address: host.em0Address, port: 8443 }]);
    expect(await tcp('host', host.em0Address, 8443)).toMatchObject({ ok: true, reply: { peer: GW, localPort: 443 } });
    expect(await tcp('host', EM0_ALIAS, 8443, 1500)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
  });

  test('a second attachment asking for a held host port is refused, naming the holder, and nothing changes', async () => {
    const before = { anchors: await anchors(), reservations: await reservations(), rules: await natRules(portmapAnchor(NET, 'web', 'eth0')) };
    const mark = host.traceMark();
    const r = await cni('portmap', 'ADD', pmConf([{ hostPort: 7777, containerPort: 77, protocol: 'tcp' }, { hostPort: 8080, containerPort: 80, protocol: 'tcp' }], prev.other), att('other'));
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 102 });
    expect(String(r.json?.msg)).toContain('8080/tcp is already reserved');
    expect(String(r.json?.msg)).toMatch(/web/);
    // Reads only: `route get` (the egress) and, when the readiness answer is older than its 5 s
    // trust (a loaded machine), pf's status (`pfctl -s ...`); no command that changes anything.
    const reads = (e: { tool: string; argv: string[] }) => e.tool === 'route' || (e.tool === 'pfctl' && e.argv[0] === '-s');
    expect(host.traceSince(mark).filter((e) => !reads(e))).toEqual([]);
    expect({ anchors: await anchors(), reservations: await reservations(), rules: await natRules(portmapAnchor(NET, 'web', 'eth0')) }).toEqual(before);
    // A port published on one address leaves the same port on another address free.
    const otherAddress = await cni('portmap', 'ADD', pmConf([{ hostPort: 8443, containerPort: 443, protocol: 'tcp', hostIP: EM0_ALIAS }], prev.other), att('other'));
    expect(otherAddress.code).toBe(0);
    expect((await cni('portmap', 'DEL', pmConf(undefined), att('other'))).code).toBe(0);
  });

  test('CHECK passes, then fails naming the missing rule or the missing reservation', async () => {
    const check = () => cni('portmap', 'CHECK', pmConf(WEB_PORTS, prev.web), att('web'));
    expect((await check()).code).toBe(0);
    const anchor = portmapAnchor(NET, 'web', 'eth0');
    const web = firstIpv4(prev.web);
    // Drop one rule by hand.
    const kept = (await natRules(anchor)).filter((l) => !l.includes('port = 5353')).map((l) => l.replace(/ round-robin$/, ''));
    await host.runOk('pfctl', ['-a', anchor, '-f', '-'], { input: kept.join('\n') + '\n' });
    const r = await check();
    expect(r.json).toMatchObject({ code: 103 });
    // Four rules: IPv4 and IPv6, on em0's and on the bridge's addresses.
    expect(String(r.json?.msg)).toBe(`anchor ${anchor} lacks 4 rules, first \`rdr pass on ! lo0 inet proto udp from any to (em0) port = mdns tag jailnet_rdr -> ${web} port 53\``);
    // ADD again restores it.
    expect((await cni('portmap', 'ADD', pmConf(WEB_PORTS, prev.web), att('web'))).code).toBe(0);
    expect((await check()).code).toBe(0);
    // A published port cannot be released on its own, behind the forward's back.
    const refused = await ipamd.post('/v1/ports/release', { network: NET, containerID: 'web', ifname: 'eth0', ports: [{ protocol: 'udp', hostPort: 5353 }] });
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { reason: 'port-published' } });
    expect((await check()).code).toBe(0);
    // Other mappings than those published: CHECK names what differs.
    const other = await cni('portmap', 'CHECK', pmConf([...WEB_PORTS, { hostPort: 8089, containerPort: 89, protocol: 'tcp' }], prev.web), att('web'));
    expect(other.json).toMatchObject({ code: 103 });
    expect(String(other.json?.msg)).toContain('lacks');
  });

  test('CHECK without portMappings succeeds on an attachment that publishes ports (as the reference portmap)', async () => {
    const r = await cni('portmap', 'CHECK', pmConf(undefined, prev.web), att('web'));
    expect(r).toMatchObject({ code: 0, stdout: '' });
    const empty = await cni('portmap', 'CHECK', pmConf([], prev.web), att('web'));
    expect(empty.code).toBe(0);
  });
});

describe('chained after epair (no bridge)', () => {
  const EP = 'pmep';
  const epairConf = () => ({ cniVersion: '1.0.0', name: EP, type: 'epair', ipam: ipamd.ipam([[{ subnet: '10.68.0.0/24' }]]) });
  const conf = (portMappings: Mapping[] | undefined, prevResult?: unknown) => ({ ...pmConf(portMappings, prevResult), name: EP });

  test('the world and another epair jail (routed through the host: no hairpin NAT) reach it; the host does not (issue 9.1)', async () => {
    const ep: Record<string, Record<string, unknown>> = {};
    for (const j of ['e1', 'e2']) {
      await host.createJail(j);
      const r = await cni('epair', 'ADD', epairConf(), att(j));
      expect(r.code).toBe(0);
      ep[j] = r.json as Record<string, unknown>;
    }
    await host.startJailServer('e1', { proto: 'tcp', port: 80 });
    expect((await cni('portmap', 'ADD', conf([{ hostPort: 8090, containerPort: 80, protocol: 'tcp' }], ep.e1), att('e1'))).code).toBe(0);
    const rules = await natRules(portmapAnchor(EP, 'e1', 'eth0'));
    expect(rules).toEqual([`rdr pass on ! lo0 inet proto tcp from any to (em0) port = 8090 tag jailnet_rdr -> ${firstIpv4(ep.e1)} port 80`]);
    expect(await tcp('world', host.em0Address, 8090)).toMatchObject({ ok: true, reply: { peer: host.worldAddress, localPort: 80 } });
    expect(await tcp('e2', host.em0Address, 8090)).toMatchObject({ ok: true, reply: { peer: firstIpv4(ep.e2), localPort: 80 } });
    // The host, through the proxy: the jail sees its gateway, the host end's address.
    expect(await tcp('host', host.em0Address, 8090)).toMatchObject({ ok: true, reply: { peer: '10.68.0.1', localPort: 80 } });
    expect((await cni('portmap', 'DEL', conf(undefined), att('e1'))).code).toBe(0);
    expectFailure(await tcp('world', host.em0Address, 8090, 1500), 'refused');
  });
});

describe('DEL', () => {
  test('removes the anchor, closes the proxy sockets, releases the reservation; again succeeds', async () => {
    const anchor = portmapAnchor(NET, 'api', 'eth0');
    expect(await anchors()).toContain(anchor);
    expect(await listening('tcp', 8443)).toBe(1);
    expect(await tcp('world', host.em0Address, 8443)).toMatchObject({ ok: true });
    const mark = host.traceMark();
    expect((await cni('portmap', 'DEL', pmConf(API_PORTS(host.em0Address), prev.api), att('api'))).code).toBe(0);
    expect(host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`)).toEqual([`pfctl -a ${anchor} -F all`]);
    expect(await anchors()).not.toContain(anchor);
    expect((await reservations()).map((r) => r.containerID)).not.toContain('api');
    expectFailure(await tcp('world', host.em0Address, 8443, 1500), 'refused');
    expect(await listening('tcp', 8443)).toBe(0);
    expect(await tcp('host', host.em0Address, 8443, 1500)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect((await cni('portmap', 'DEL', pmConf(API_PORTS(host.em0Address), prev.api), att('api'))).code).toBe(0);
  });

  test('after the jail is removed, without prevResult, runtimeConfig or CNI_NETNS', async () => {
    const r = await cni('portmap', 'ADD', pmConf([{ hostPort: 6000, containerPort: 60, protocol: 'udp' }], prev.other), att('other'));
    expect(r.code).toBe(0);
    expect(await anchors()).toContain(portmapAnchor(NET, 'other', 'eth0'));
    await host.removeJail('other');
    expect((await cni('portmap', 'DEL', pmConf(undefined), { containerId: 'other', netns: '' })).code).toBe(0);
    expect(await anchors()).not.toContain(portmapAnchor(NET, 'other', 'eth0'));
    expect((await reservations()).map((r) => r.containerID)).not.toContain('other');
  });
});

describe('GC', () => {
  test('tears down the attachments that are not valid (anchor, proxy, host end, then lease and ports), on this network only', async () => {
    await host.createJail('gone');
    const bridge = await cni('bridge', 'ADD', bridgeConf(), att('gone'));
    expect(bridge.code).toBe(0);
    for (const [j, result] of [['api', prev.api], ['gone', bridge.json]] as const) {
      expect((await cni('portmap', 'ADD', pmConf([{ hostPort: j === 'api' ? 8443 : 8444, containerPort: 443, protocol: 'tcp' }], result), att(j))).code).toBe(0);
    }
    expect(await listening('tcp', 8444)).toBe(2);
    // An anchor of another network with the same container, and one of this network that no
    // attachment recorded (left by hand): GC of this network removes the second only.
    await host.runOk('pfctl', ['-a', portmapAnchor('othernet', 'api', 'eth0'), '-f', '-'], { input: 'rdr pass inet proto tcp from any to (em0) port 1234 -> 10.9.9.9 port 1\n' });
    await host.runOk('pfctl', ['-a', portmapAnchor(NET, 'stray', 'eth0'), '-f', '-'], { input: 'rdr pass inet proto tcp from any to (em0) port 1235 -> 10.9.9.9 port 1\n' });
    const valid = ['web', 'api', 'client'].map((containerID) => ({ containerID, ifname: 'eth0' }));
    const mark = host.traceMark();
    const gc = await cni('portmap', 'GC', { ...pmConf(undefined), cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid });
    expect(gc.code).toBe(0);
    expect((await anchors()).sort()).toEqual([portmapAnchor(NET, 'web', 'eth0'), portmapAnchor(NET, 'api', 'eth0'), portmapAnchor('othernet', 'api', 'eth0')].sort());
    expect((await reservations()).map((r) => r.containerID).sort()).toEqual(['api', 'web']);
    expect(await listening('tcp', 8444)).toBe(0);
    // gone's host end and lease went too; other's (its jail was removed above) as well.
    expect((await ipamd.leases(NET)).map((l) => l.containerID).sort()).toEqual(['api', 'client', 'web']);
    expect(await host.run('ifconfig', [hostEndName('gone', 'eth0')])).toMatchObject({ code: 1 });
    // In that order: the stray anchor; then, per attachment, its anchor, then its host end.
    const steps = host.traceSince(mark).map((e) => `${e.tool} ${e.argv.join(' ')}`);
    const at = (command: string) => steps.indexOf(command);
    const goneFlush = `pfctl -a ${portmapAnchor(NET, 'gone', 'eth0')} -F all`;
    expect(at(`pfctl -a ${portmapAnchor(NET, 'stray', 'eth0')} -F all`)).toBeGreaterThanOrEqual(0);
    expect(at(goneFlush)).toBeGreaterThan(at(`pfctl -a ${portmapAnchor(NET, 'stray', 'eth0')} -F all`));
    expect(steps.filter((c) => c === goneFlush)).toHaveLength(1);
    expect(at(`ifconfig ${hostEndName('gone', 'eth0')} destroy`)).toBeGreaterThan(at(goneFlush));
    expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true });
    await host.run('pfctl', ['-a', portmapAnchor('othernet', 'api', 'eth0'), '-F', 'all']);
    expect((await cni('portmap', 'DEL', pmConf(undefined), att('api'))).code).toBe(0);
  });
});

describe('a failing step of ADD leaves no anchor, no reservation and no proxy socket behind', () => {
  const state = async () => ({ anchors: await anchors(), reservations: await reservations(), listening: [await listening('tcp', 8555), await listening('tcp', 8557)] });
  const faults: [string, Fault][] = [
    ['the default route lookup', { tool: 'route', words: ['get', 'default'] }],
    ['loading the anchor', { tool: 'pfctl', words: ['-f', '-'] }],
  ];
  test.each(faults)('%s', async (_step, fault) => {
    const before = await state();
    host.setFaults([{ ...fault, stderr: 'injected failure' }]);
    try {
      const r = await cni('portmap', 'ADD', pmConf([{ hostPort: 8555, containerPort: 80, protocol: 'tcp' }], prev.client), att('client'));
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code: 100 });
      expect(String(r.json?.msg)).toContain('injected failure');
    } finally {
      host.clearFaults();
    }
    expect(await state()).toEqual(before);
    expectFailure(await tcp('world', host.em0Address, 8555, 1500), 'refused');
    // Positive control: the world reaches a port published before.
    expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true });
  });

  test('a host port another program holds: refused (102) naming the port, and nothing is left', async () => {
    const squatter = await host.startHostServer({ proto: 'tcp', port: 8556 });
    try {
      const before = await state();
      const r = await cni('portmap', 'ADD', pmConf([{ hostPort: 8557, containerPort: 80, protocol: 'tcp' }, { hostPort: 8556, containerPort: 81, protocol: 'tcp' }], prev.client), att('client'));
      expect(r.json).toMatchObject({ code: 102 });
      expect(String(r.json?.msg)).toMatch(/host port 0\.0\.0\.0:8556\/tcp is in use by another program/);
      expect(await state()).toEqual(before);
      // The program keeps its port.
      expect(await tcp('host', host.em0Address, 8556)).toMatchObject({ ok: true, reply: { localPort: 8556 } });
    } finally {
      await squatter.stop();
    }
  });
});

describe('userland proxy', () => {
  test('"userlandProxy": false publishes through pf only: the world reaches it, the host does not, no socket', async () => {
    const r = await cni('portmap', 'ADD', pmConf([{ hostPort: 8558, containerPort: 443, protocol: 'tcp' }], prev.api, { userlandProxy: false }), att('api'));
    expect(r.code).toBe(0);
    expect(await tcp('world', host.em0Address, 8558)).toMatchObject({ ok: true, reply: { localPort: 443 } });
    expect(await listeners('api')).toEqual([]);
    expect(await listening('tcp', 8558)).toBe(0);
    expect(await tcp('host', host.em0Address, 8558, 1500)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect((await cni('portmap', 'DEL', pmConf(undefined), att('api'))).code).toBe(0);
  });

  test('after jailnetd is killed and restarted, the sockets are back before it answers', async () => {
    await ipamd.restart();
    expect(await listening('tcp', 8080)).toBe(2);
    expect(await tcp('host', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, localPort: 80 } });
    expect(await host.request('host', { proto: 'udp', address: host.em0Address, port: 5353 })).toMatchObject({ ok: true, reply: { localPort: 53 } });
    expect((await cni('portmap', 'CHECK', pmConf(WEB_PORTS, prev.web), att('web'))).code).toBe(0);
  });
});

describe('STATUS', () => {
  const status = (extra: object = {}) => cni('portmap', 'STATUS', { ...pmConf(undefined), cniVersion: '1.1.0', ...extra });

  test('passes with pf enabled, the hooks in place and jailnetd up', async () => {
    expect((await status()).code).toBe(0);
  });

  test('50 when jailnetd does not answer', async () => {
    const r = await status({ socket: join(host.dir, 'nothing.sock'), autostart: false });
    expect(r.json).toMatchObject({ code: 50 });
    expect(String(r.json?.msg)).toContain('jailnetd is not running');
  });

  test('50 when the main ruleset lacks the hooks, and when pf is disabled', async () => {
    await host.runOk('pfctl', ['-f', '-'], { input: 'anchor "jailnet/*"\n' });
    try {
      const r = await status();
      expect(r.json).toMatchObject({ code: 50, msg: 'portmap: the main pf ruleset lacks `nat-anchor "jailnet/*"` and `rdr-anchor "jailnet/*"`, so jailnet\'s anchors are never evaluated' });
    } finally {
      await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
    }
    await host.runOk('pfctl', ['-d']);
    try {
      expect((await status()).json).toMatchObject({ code: 50, msg: 'portmap: pf is not enabled' });
    } finally {
      await host.runOk('pfctl', ['-e']);
    }
  });
});

describe('concurrent ADDs', () => {
  test('two attachments racing for one host port: exactly one gets it, the other is refused and leaves nothing', async () => {
    const srv = await host.startJailServer('client', { proto: 'tcp', port: 443 });
    const want = (j: string) => cni('portmap', 'ADD', pmConf([{ hostPort: 8600, containerPort: 443, protocol: 'tcp' }], prev[j]), att(j));
    const [a, b] = await Promise.all([want('api'), want('client')]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    const loser = a.code === 0 ? b : a;
    const winner = a.code === 0 ? 'api' : 'client';
    expect(loser.json).toMatchObject({ code: 102 });
    expect(String(loser.json?.msg)).toContain(`by container ${winner} interface eth0`);
    expect((await anchors()).filter((x) => x === portmapAnchor(NET, 'api', 'eth0') || x === portmapAnchor(NET, 'client', 'eth0'))).toEqual([portmapAnchor(NET, winner, 'eth0')]);
    expect(await tcp('world', host.em0Address, 8600)).toMatchObject({ ok: true, reply: { local: firstIpv4(prev[winner]) } });
    await srv.stop();
    for (const j of ['api', 'client']) expect((await cni('portmap', 'DEL', pmConf(undefined), att(j))).code).toBe(0);
  });
});
