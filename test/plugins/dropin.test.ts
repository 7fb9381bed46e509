import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIfconfig } from '../../src/freebsd/parse/ifconfig';
import type { EmulatedHost } from '../harness/emulated-host';
import { cniRunner } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { bridgeNetwork, withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { expectFailure } from '../helpers/reach';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// The drop-in plugins of other runtimes' network files on the emulated host, one plugin at a
// time as a runtime runs them: loopback (lo0 of the jail, decided where bridge decides it),
// tuning (the jail's interface and per-vnet sysctls, put back by DEL) and firewall's CHECK and
// GC (jailnetd's ingress records and the network's anchor). The chains of nerdctl and podman
// run whole under libcni in test/interop/dropin-libcni.test.ts.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
let dir: string;

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  dir = mkdtempSync(join(tmpdir(), 'jailnet-dropin-'));
  await enablePfWithHooks(host);
  for (const jail of ['lo1', 'lo2', 'tune1', 'tune2', 'iso1', 'iso2']) await host.createJail(jail);
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lo0 = async (jail: string) => parseIfconfig(await host.runOk('ifconfig', ['-j', jail, 'lo0']))[0];
const jailIf = async (jail: string, ifname = 'eth0') => parseIfconfig(await host.runOk('ifconfig', ['-j', jail, ifname]))[0];
const sysctlIn = async (jail: string | undefined, name: string) => (await host.runOk('sysctl', [...(jail ? ['-j', jail] : []), '-n', name])).trim();
/** The emulated FreeBSD commands `run` caused (jailnetd's periodic `jls` left out). */
const commandsOf = async (run: () => Promise<unknown>) => {
  const mark = host.traceMark();
  await run();
  return host
    .traceSince(mark)
    .filter((t) => t.tool !== 'jls')
    .map((t) => `${t.tool}${t.jail ? ` -j ${t.jail}` : ''} ${t.argv.join(' ')}`);
};

describe('loopback', () => {
  const conf = { cniVersion: '1.0.0', name: 'lo', type: 'loopback' };

  test('ADD on a fresh jail: lo0 up with 127.0.0.1/8 and ::1, the jail reaches its own server over both; the reference result; CHECK passes', async () => {
    await host.startJailServer('lo1', { proto: 'tcp', port: 80 });
    expect(await lo0('lo1')).toMatchObject({ flags: expect.not.arrayContaining(['UP']), inet: [] });
    expectFailure(await host.request('lo1', { proto: 'tcp', address: '127.0.0.1', port: 80 }), 'unreachable');
    const added = await cni('loopback', 'ADD', conf, { containerId: 'lo1', netns: 'lo1', ifname: 'lo' });
    expect(added.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'lo0', mac: '00:00:00:00:00:00', sandbox: 'lo1' }],
      ips: [
        { address: '127.0.0.1/8', interface: 0 },
        { address: '::1/128', interface: 0 },
      ],
    });
    expect(await lo0('lo1')).toMatchObject({ flags: expect.arrayContaining(['UP', 'LOOPBACK']), inet: [{ address: '127.0.0.1', prefixlen: 8 }], inet6: expect.arrayContaining([expect.objectContaining({ address: '::1' })]) });
    expect(await host.request('lo1', { proto: 'tcp', address: '127.0.0.1', port: 80 })).toMatchObject({ ok: true, reply: { peer: '127.0.0.1' } });
    expect(await host.request('lo1', { proto: 'tcp', address: '::1', port: 80 })).toMatchObject({ ok: true });
    expect(await cni('loopback', 'CHECK', { ...conf, prevResult: added.json }, { containerId: 'lo1', netns: 'lo1', ifname: 'lo' })).toMatchObject({ code: 0, stdout: '' });
  });

  test('ADD on a jail whose lo0 is set (the jail\'s rc, another attachment) reads lo0 and changes nothing', async () => {
    const commands = await commandsOf(() => cni('loopback', 'ADD', conf, { containerId: 'lo1b', netns: 'lo1', ifname: 'lo' }));
    expect(commands).toEqual(['ifconfig -j lo1 lo0']);
  });

  test('lo0 with another address: 127.0.0.1 joins it as an alias (ifconfig\'s plain inet would delete the first address)', async () => {
    await host.runOk('ifconfig', ['-j', 'lo2', 'lo0', 'inet', '127.0.0.2/8', 'up']);
    const commands = await commandsOf(() => cni('loopback', 'ADD', conf, { containerId: 'lo2', netns: 'lo2', ifname: 'lo' }));
    expect(commands).toEqual(['ifconfig -j lo2 lo0', 'ifconfig -j lo2 lo0 inet 127.0.0.1/8 alias up']);
    expect((await lo0('lo2'))?.inet.map((a) => a.address)).toEqual(['127.0.0.2', '127.0.0.1']);
  });

  test('CHECK fails naming what lo0 lacks; DEL leaves lo0 to the jail, with or without CNI_NETNS', async () => {
    await host.runOk('ifconfig', ['-j', 'lo1', 'lo0', 'down']);
    const broken = await cni('loopback', 'CHECK', conf, { containerId: 'lo1', netns: 'lo1', ifname: 'lo' });
    expect(broken.json).toMatchObject({ code: 103, msg: expect.stringContaining('lo0 of jail lo1 is not ready: it lacks up') });
    await host.runOk('ifconfig', ['-j', 'lo1', 'lo0', 'up']);
    expect(await cni('loopback', 'DEL', conf, { containerId: 'lo1', netns: 'lo1', ifname: 'lo' })).toMatchObject({ code: 0, stdout: '' });
    expect(await cni('loopback', 'DEL', conf, { containerId: 'lo1', netns: '', ifname: 'lo' })).toMatchObject({ code: 0, stdout: '' });
    expect(await lo0('lo1')).toMatchObject({ flags: expect.arrayContaining(['UP']), inet: [{ address: '127.0.0.1' }] });
  });
});

describe('tuning', () => {
  const network = () => bridgeNetwork(ipamd, 'tune', '10.95.0.0/24');
  const att = (jail: string) => ({ containerId: jail, netns: jail });
  const tuning = (extra: object) => ({ cniVersion: '1.0.0', name: 'tune', type: 'tuning', ...extra });
  const saved = () => (existsSync(join(host.dir, 'run/tuning')) ? readdirSync(join(host.dir, 'run/tuning')).map((f) => (JSON.parse(readFileSync(join(host.dir, 'run/tuning', f), 'utf8')) as { containerID: string }).containerID).sort() : []);
  const prev: Record<string, unknown> = {};
  let before: { mtu: number; ether: string | undefined };
  const log = () => join(dir, 'tuning.log');

  beforeAll(async () => {
    for (const jail of ['tune1', 'tune2']) prev[jail] = (await cni('bridge', 'ADD', network(), att(jail))).json;
    const eth0 = await jailIf('tune1');
    before = { mtu: eth0?.mtu as number, ether: eth0?.ether };
  });

  const wanted = { mtu: 1400, mac: '02:00:00:00:95:01', promisc: true, allmulti: true, txQLen: 2000, sysctl: { 'net.ipv4.ip_default_ttl': '32', 'net.inet.tcp.mssdflt': '1400', 'net.core.somaxconn': '4096' } };

  test('ADD: mtu, mac and promisc on the jail\'s interface, per-vnet sysctls in the jail (Linux names mapped); allmulti, txQLen and other sysctls logged and ignored', async () => {
    const run = cniRunner(host, { JAILNET_LOG_FILE: log() });
    const added = await run('tuning', 'ADD', tuning({ ...wanted, prevResult: prev.tune1 }), att('tune1'));
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect((added.json as { interfaces: { name: string; mac: string }[] }).interfaces[2]).toMatchObject({ name: 'eth0', mac: '02:00:00:00:95:01' });
    expect(await jailIf('tune1')).toMatchObject({ mtu: 1400, ether: '02:00:00:00:95:01', flags: expect.arrayContaining(['PPROMISC']) });
    expect([await sysctlIn('tune1', 'net.inet.ip.ttl'), await sysctlIn('tune1', 'net.inet.tcp.mssdflt')]).toEqual(['32', '1400']);
    // The host's vnet and the other jail keep theirs.
    expect([await sysctlIn(undefined, 'net.inet.ip.ttl'), await sysctlIn('tune2', 'net.inet.ip.ttl')]).toEqual(['64', '64']);
    const logged = readFileSync(log(), 'utf8');
    for (const ignored of ['sysctl net.core.somaxconn ignored', 'field "allmulti" ignored', 'field "txQLen" ignored']) expect(logged).toContain(ignored);
    expect(saved()).toEqual(['tune1']);
  });

  test('CHECK passes, and fails naming what differs', async () => {
    const conf = tuning({ ...wanted, prevResult: prev.tune1 });
    expect(await cni('tuning', 'CHECK', conf, att('tune1'))).toMatchObject({ code: 0, stdout: '' });
    await host.runOk('sysctl', ['-j', 'tune1', 'net.inet.ip.ttl=64']);
    expect((await cni('tuning', 'CHECK', conf, att('tune1'))).json).toMatchObject({ code: 103, msg: expect.stringContaining('net.inet.ip.ttl is 64, not 32') });
    await host.runOk('sysctl', ['-j', 'tune1', 'net.inet.ip.ttl=32']);
  });

  test('DEL puts back what ADD changed (interface and sysctls) and forgets it; DEL again succeeds', async () => {
    expect(await cni('tuning', 'DEL', tuning(wanted), att('tune1'))).toMatchObject({ code: 0, stdout: '' });
    const eth0 = await jailIf('tune1');
    expect({ mtu: eth0?.mtu, ether: eth0?.ether }).toEqual(before);
    expect(eth0?.flags).not.toContain('PPROMISC');
    expect([await sysctlIn('tune1', 'net.inet.ip.ttl'), await sysctlIn('tune1', 'net.inet.tcp.mssdflt')]).toEqual(['64', '536']);
    expect(saved()).toEqual([]);
    expect(await cni('tuning', 'DEL', tuning(wanted), att('tune1'))).toMatchObject({ code: 0, stdout: '' });
  });

  test('a failed ADD leaves nothing: a sysctl FreeBSD refuses (EINVAL) after the mtu was set; the mtu is back, nothing saved', async () => {
    const failed = await cni('tuning', 'ADD', tuning({ mtu: 1300, sysctl: { 'net.inet.tcp.mssdflt': '100' }, prevResult: prev.tune1 }), att('tune1'));
    expect(failed.json).toMatchObject({ code: 100, msg: expect.stringContaining('net.inet.tcp.mssdflt') });
    expect((await jailIf('tune1'))?.mtu).toBe(before.mtu);
    expect(await sysctlIn('tune1', 'net.inet.tcp.mssdflt')).toBe('536');
    expect(saved()).toEqual([]);
  });

  test('GC forgets the saved values of attachments that are not valid any more, and keeps the others', async () => {
    for (const jail of ['tune1', 'tune2']) expect((await cni('tuning', 'ADD', tuning({ sysctl: { 'net.inet.ip.ttl': '40' }, prevResult: prev[jail] }), att(jail))).code).toBe(0);
    expect(saved()).toEqual(['tune1', 'tune2']);
    const gc = await cni('tuning', 'GC', { cniVersion: '1.1.0', name: 'tune', type: 'tuning', 'cni.dev/valid-attachments': [{ containerID: 'tune1', ifname: 'eth0' }] });
    expect(gc).toMatchObject({ code: 0, stdout: '' });
    expect(saved()).toEqual(['tune1']);
    expect(await cni('tuning', 'DEL', tuning({ sysctl: { 'net.inet.ip.ttl': '40' } }), att('tune1'))).toMatchObject({ code: 0 });
    expect(await sysctlIn('tune1', 'net.inet.ip.ttl')).toBe('64');
    for (const jail of ['tune1', 'tune2']) expect((await cni('bridge', 'DEL', network(), att(jail))).code).toBe(0);
  });
});

describe('firewall', () => {
  const network = () => bridgeNetwork(ipamd, 'iso', '10.96.0.0/24');
  const att = (jail: string) => ({ containerId: jail, netns: jail });
  const firewall = (extra: object = {}) => ({ cniVersion: '1.1.0', name: 'iso', type: 'firewall', ingressPolicy: 'same-bridge', socket: ipamd.socket, ...extra });
  const rules = () => host.runOk('pfctl', ['-a', 'jailnet/iso-iso', '-s', 'rules']);
  const prev: Record<string, unknown> = {};

  beforeAll(async () => {
    for (const jail of ['iso1', 'iso2']) {
      prev[jail] = (await cni('bridge', 'ADD', network(), att(jail))).json;
      expect((await cni('firewall', 'ADD', firewall({ prevResult: prev[jail] }), att(jail))).code).toBe(0);
    }
  });

  test('CHECK passes; fails when the network\'s rules were flushed behind jailnetd\'s back; ADD again puts them back', async () => {
    expect(await cni('firewall', 'CHECK', firewall({ prevResult: prev.iso1 }), att('iso1'))).toMatchObject({ code: 0, stdout: '' });
    const loaded = await rules();
    expect(loaded).toContain('block return in quick on jailnet_host inet from ! <iso_net4> to <iso_net4>');
    await host.runOk('pfctl', ['-a', 'jailnet/iso-iso', '-F', 'rules']);
    expect((await cni('firewall', 'CHECK', firewall({ prevResult: prev.iso1 }), att('iso1'))).json).toMatchObject({ code: 103 });
    expect((await cni('firewall', 'ADD', firewall({ prevResult: prev.iso1 }), att('iso1'))).code).toBe(0);
    expect(await rules()).toBe(loaded);
    expect(await cni('firewall', 'CHECK', firewall({ prevResult: prev.iso1 }), att('iso1'))).toMatchObject({ code: 0 });
  });

  test('GC: the rules stay while a valid attachment holds them and go with the last one', async () => {
    const gc = (valid: string[]) => cni('firewall', 'GC', { ...firewall(), 'cni.dev/valid-attachments': valid.map((containerID) => ({ containerID, ifname: 'eth0' })) });
    expect(await gc(['iso1'])).toMatchObject({ code: 0, stdout: '' });
    expect(await rules()).toContain('block return in quick on');
    expect(await cni('firewall', 'CHECK', firewall({ prevResult: prev.iso1 }), att('iso1'))).toMatchObject({ code: 0 });
    expect((await cni('firewall', 'CHECK', firewall({ prevResult: prev.iso2 }), att('iso2'))).json).toMatchObject({ code: 103, msg: expect.stringContaining('holds no same-bridge ingress policy') });
    expect(await gc([])).toMatchObject({ code: 0, stdout: '' });
    expect(await rules()).toBe('');
    // jailnetd's GC is the network's: the attachments' leases went with their rules.
    expect(await ipamd.leases('iso')).toEqual([]);
    for (const jail of ['iso1', 'iso2']) expect((await cni('bridge', 'DEL', network(), att(jail))).code).toBe(0);
  });
});
