/**
 * vxlan(4) on the emulated host: ifconfig's words, checks and output (sbin/ifconfig/ifvxlan.c,
 * sys/net/if_vxlan.c), and real packets between jails on two emulated hosts of one underlay,
 * wired the FreeBSD way: a bridge per network on each host, holding that host's own gateway
 * address and a vxlan member towards the peer, one VNI per network, the MTU lowered for the
 * encapsulation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRunEmulator, createEmulatedCluster, createEmulatedHost, type EmulatedCluster, type EmulatedHost } from '../harness/emulated-host';
import { expectFailure } from '../helpers/reach';

const d = canRunEmulator ? describe : describe.skip;

d('emulated ifconfig: vxlan', () => {
  let host: EmulatedHost;
  beforeAll(async () => {
    host = await createEmulatedHost();
  });
  afterAll(async () => {
    await host?.destroy();
  });
  const ok = (args: string[]) => host.runOk('ifconfig', args);
  const fails = async (args: string[], stderr: string) => expect(await host.run('ifconfig', args)).toMatchObject({ code: 1, stderr: `ifconfig: ${stderr}\n` });
  const block = async (name: string) => (await ok([name])).split('\n');

  test('create takes the vxlan words as parameters, prints vxlanN, and shows the vxlan line; up starts it', async () => {
    const name = (await ok(['vxlan', 'create', 'vxlanid', '42', 'vxlanlocal', host.em0Address, 'vxlanremote', '198.51.100.9'])).trim();
    expect(name).toBe('vxlan0');
    // Not running before up; the MTU is ETHERMTU less 14 + 8 + 8 + 20 (if_vxlan.c).
    expect(await block(name)).toEqual([
      'vxlan0: flags=8802<BROADCAST,SIMPLEX,MULTICAST> metric 0 mtu 1450',
      '\toptions=80020<JUMBO_MTU,LINKSTATE>',
      expect.stringMatching(/^\tether 58:9c:fc(:[0-9a-f]{2}){3}$/),
      '\tgroups: vxlan',
      `\tvxlan vni 42 local ${host.em0Address}:4789 remote 198.51.100.9:4789`,
      '\tmedia: Ethernet autoselect (autoselect <full-duplex>)',
      '\tstatus: active',
      '\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>',
      '',
    ]);
    expect(await ok([name, 'up'])).toBe('');
    expect((await block(name))[0]).toBe('vxlan0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1450');
    // What may not change while it runs (vxlan_can_change_config), and what may.
    await fails([name, 'vxlanid', '43'], 'VXLAN_CMD_SET_VNI: Device busy');
    await fails([name, 'vxlanremote', '198.51.100.8'], 'VXLAN_CMD_SET_REMOTE_ADDR: Device busy');
    await fails([name, 'vxlanlocalport', '5000'], 'VXLAN_CMD_SET_LOCAL_PORT: Device busy');
    expect(await ok([name, 'vxlanttl', '9', '-vxlanlearn'])).toBe('');
    // Down, change, up again in one command; the ports show in the vxlan line.
    expect(await ok([name, 'down', 'vxlanremoteport', '4800', 'vxlanlocalport', '4801', 'up'])).toBe('');
    expect(await block(name)).toContain(`\tvxlan vni 42 local ${host.em0Address}:4801 remote 198.51.100.9:4800`);
    expect(await ok(['-C'])).toBe('bridge epair lo vxlan\n');
    await ok([name, 'destroy']);
    expect((await ok(['vxlan', 'create'])).trim()).toBe('vxlan0');
    await ok(['vxlan0', 'destroy']);
  });

  test("ifconfig's checks and messages, before and after the interface exists", async () => {
    await fails(['vxlan', 'create', 'vxlanid', '16777216'], 'invalid network identifier: 16777216');
    await fails(['vxlan', 'create', 'vxlanlocal', '192.0.2.1', 'vxlanremote', '2001:db8::1'], 'cannot mix IPv4 and IPv6 addresses');
    await fails(['vxlan', 'create', 'vxlanlocal', '239.0.0.1'], 'local address cannot be multicast');
    await fails(['vxlan', 'create', 'vxlangroup', '192.0.2.1'], 'group address must be multicast');
    await fails(['vxlan', 'create', 'vxlanremote', 'peer.example'], 'error in parsing remote address string: hostname nor servname provided, or not known');
    await fails(['vxlan', 'create', 'vxlanportrange', '5000'], "'vxlanportrange' requires 2 arguments");
    // None of those created anything.
    expect((await ok(['-l'])).split(' ').filter((n) => n.startsWith('vxlan'))).toEqual([]);
    const v = (await ok(['vxlan', 'create'])).trim();
    // On an existing interface the kernel checks: port 0 is EINVAL, a timeout over a day too.
    await fails([v, 'vxlanlocalport', '0'], 'VXLAN_CMD_SET_LOCAL_PORT: Invalid argument');
    await fails([v, 'vxlantimeout', '86401'], 'VXLAN_CMD_SET_FTABLE_TIMEOUT: Invalid argument');
    await fails([v, 'mtu', String(65535 - 60 - 8 - 8 - 14 - 4 - 4 + 1)], 'ioctl SIOCSIFMTU (set mtu): Invalid argument');
    // A vxlan word on another interface is kept for a create that never comes (vxlan_exists fails).
    const e = (await ok(['epair', 'create'])).trim();
    expect(await ok([e, 'vxlanid', '5'])).toBe('');
    await fails([e, 'vxlanflush'], 'VXLAN_CMD_FLUSH: Invalid argument');
    await ok([e, 'destroy']);
    // The MTU follows the remote's family (20 or 40 bytes of outer header) until set by hand.
    expect((await block(v))[0]).toMatch(/ mtu 1470$/);
    await ok([v, 'vxlanremote', '2001:db8::9']);
    expect((await block(v))[0]).toMatch(/ mtu 1430$/);
    await ok([v, 'mtu', '1400', 'vxlanremote', '192.0.2.9']);
    expect((await block(v))[0]).toMatch(/ mtu 1400$/);
    await ok([v, 'destroy']);
  });

  test('up without a VNI or with a VNI taken on the same socket: UP but not RUNNING, and the console says why', async () => {
    const a = (await ok(['vxlan', 'create'])).trim();
    await ok([a, 'up']);
    expect((await block(a))[0]).toBe(`${a}: flags=8803<UP,BROADCAST,SIMPLEX,MULTICAST> metric 0 mtu 1470`);
    const cfg = ['vxlanid', '7', 'vxlanlocal', host.em0Address, 'vxlanremote', '198.51.100.9'];
    await ok([a, ...cfg, 'up']);
    expect((await block(a))[0]).toMatch(/<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP>/);
    const b = (await ok(['vxlan', 'create', ...cfg, 'up'])).trim();
    expect((await block(b))[0]).toMatch(/^vxlan\d+: flags=8803</);
    // The same VNI on another local port is another socket: it runs.
    await ok([b, 'down', 'vxlanlocalport', '4790', 'up']);
    expect((await block(b))[0]).toMatch(/RUNNING/);
    // vxlan_init needs vxlanlocal (a socket has an address family) bound to an address of the host.
    const c = (await ok(['vxlan', 'create', 'vxlanid', '8', 'vxlanlocal', '192.0.2.1', 'vxlanremote', '198.51.100.9', 'up'])).trim();
    expect((await block(c))[0]).not.toMatch(/RUNNING/);
    expect(readFileSync(join(host.dir, 'messages'), 'utf8').split('\n')).toEqual([
      `${a}: cannot initialize interface: invalid virtual network identifier specified`,
      `${b}: network identifier 7 already exists in this socket`,
      `${c}: cannot create socket (error: 49), and no existing socket found`,
      '',
    ]);
    for (const n of [a, b, c]) await ok([n, 'destroy']);
  });
});

d('vxlan between two emulated hosts', () => {
  let cluster: EmulatedCluster;
  let hostA: EmulatedHost;
  let hostB: EmulatedHost;
  // Per-peer local ports, as the product would do for one interface per peer: on each host the
  // vxlan towards host N listens on 4788 + N and sends to the peer's 4788 + (own index).
  const portFor = (n: number) => String(4788 + n);

  /** One network on one host: bridge + vxlan member towards the peer + the host's own gateway address. */
  async function network(host: EmulatedHost, self: number, peer: EmulatedHost, peerIndex: number, vni: number, gateway?: string): Promise<{ bridge: string; vxlan: string }> {
    const ok = (args: string[]) => host.runOk('ifconfig', args);
    const bridge = (await ok(['bridge', 'create'])).trim();
    const vxlan = (await ok(['vxlan', 'create', 'vxlanid', String(vni), 'vxlanlocal', host.em0Address, 'vxlanremote', peer.em0Address, 'vxlanlocalport', portFor(peerIndex), 'vxlanremoteport', portFor(self)])).trim();
    // The vxlan is the first member: the bridge takes its MTU (1450) and gives it to later members.
    await ok([bridge, 'addm', vxlan, 'private', vxlan, 'up']);
    await ok([vxlan, 'up']);
    if (gateway) await ok([bridge, 'inet', `${gateway}/24`]);
    return { bridge, vxlan };
  }

  async function jail(host: EmulatedHost, name: string, bridge: string, address: string, gateway?: string): Promise<void> {
    await host.createJail(name);
    const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    await host.runOk('ifconfig', [bridge, 'addm', a]);
    await host.runOk('ifconfig', [a, 'up']);
    await host.runOk('ifconfig', [b, 'vnet', name]);
    await host.runOk('ifconfig', ['-j', name, b, 'inet', `${address}/24`, 'mtu', '1450', 'up']);
    // As the bridge plugin does: the jail's own errors (ICMP host unreachable) come over lo0.
    await host.runOk('ifconfig', ['-j', name, 'lo0', 'inet', '127.0.0.1/8', 'up']);
    if (gateway) await host.runOk('route', ['-j', name, 'add', 'default', gateway]);
  }

  beforeAll(async () => {
    cluster = await createEmulatedCluster({ hosts: 2 });
    [hostA, hostB] = cluster.hosts as [EmulatedHost, EmulatedHost];
    // VNI 42: each host's bridge has its own gateway address. VNI 43 shares the ports (and so
    // the sockets) of VNI 42: only the VNI keeps the networks apart.
    const a42 = await network(hostA, 1, hostB, 2, 42, '10.77.0.1');
    const b42 = await network(hostB, 2, hostA, 1, 42, '10.77.0.2');
    const a43 = await network(hostA, 1, hostB, 2, 43);
    const b43 = await network(hostB, 2, hostA, 1, 43);
    await jail(hostA, 'ja', a42.bridge, '10.77.0.11', '10.77.0.1');
    await jail(hostB, 'jb', b42.bridge, '10.77.0.12', '10.77.0.2');
    await jail(hostA, 'jd', a43.bridge, '10.77.0.14');
    await jail(hostB, 'jc', b43.bridge, '10.77.0.13');
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  test('the bridge, vxlan and jail interfaces show the FreeBSD configuration', async () => {
    const v = (await hostA.runOk('ifconfig', ['vxlan0'])).split('\n');
    expect(v[0]).toBe('vxlan0: flags=1008943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1450');
    expect(v).toContain(`\tvxlan vni 42 local ${hostA.em0Address}:4790 remote ${hostB.em0Address}:4789`);
    const br = await hostA.runOk('ifconfig', ['bridge0']);
    expect(br).toMatch(/^bridge0: .* mtu 1450\n/);
    expect(br).toContain('\tinet 10.77.0.1 netmask 0xffffff00 broadcast 10.77.0.255\n');
    expect(br).toMatch(/\tmember: vxlan0 flags=943<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP,PRIVATE>\n\t        ifmaxaddr 0 port \d+ priority 128 path cost 55\n/);
    expect(await hostA.runOk('ifconfig', ['-j', 'ja', 'epair0b'])).toMatch(/ mtu 1450\n/);
  });

  test('jails on two hosts reach each other over VNI 42, and each its own host as gateway', async () => {
    const srv = await hostB.startJailServer('jb', { proto: 'tcp', port: 8080 });
    const r = await hostA.request('ja', { proto: 'tcp', address: '10.77.0.12', port: srv.port });
    // Bridged end to end: the server sees the jail's own address.
    expect(r).toMatchObject({ ok: true, reply: { peer: '10.77.0.11', local: '10.77.0.12' } });
    expect((await hostB.jexec('jb', ['/usr/bin/ping', '-c1', '-W3', '10.77.0.11'])).code).toBe(0);
    expect((await hostA.jexec('ja', ['/usr/bin/ping', '-c1', '-W3', '10.77.0.1'])).code).toBe(0);
    expect((await hostB.jexec('jb', ['/usr/bin/ping', '-c1', '-W3', '10.77.0.2'])).code).toBe(0);
    // The lowered MTU: a full 1450-byte packet crosses without fragments, one byte more does not leave.
    expect((await hostA.jexec('ja', ['/usr/bin/ping', '-c1', '-W3', '-M', 'do', '-s', '1422', '10.77.0.12'])).code).toBe(0);
    const big = await hostA.jexec('ja', ['/usr/bin/ping', '-c1', '-W3', '-M', 'do', '-s', '1423', '10.77.0.12']);
    expect(big).toMatchObject({ code: 1 });
    expect(big.stdout + big.stderr).toMatch(/message too long, mtu=1450/);
    await srv.stop();
  });

  test('nothing leaks to a jail on VNI 43, which works on the same sockets', async () => {
    const srv = await hostB.startJailServer('jc', { proto: 'tcp', port: 8081 });
    // Positive control: VNI 43 carries its own traffic between the hosts.
    expect(await hostA.request('jd', { proto: 'tcp', address: '10.77.0.13', port: srv.port })).toMatchObject({ ok: true, reply: { peer: '10.77.0.14' } });
    // From VNI 42 the address of jc gets no ARP answer: host unreachable (after 3 ARP requests).
    expectFailure(await hostA.request('ja', { proto: 'tcp', address: '10.77.0.13', port: srv.port, timeoutMs: 10000 }), 'unreachable');
    await srv.stop();
  });
});
