/** The uplink: em0 to the world namespace, reached from the host and, with plain routing, from a jail. */
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { expectFailure } from '../helpers/reach';

const d = canRunEmulator ? describe : describe.skip;

d('world behind em0', () => {
  let host: EmulatedHost;
  beforeAll(async () => {
    host = await createEmulatedHost();
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('the host reaches TCP and UDP servers in the world, which see em0\'s address', async () => {
    const tcp = await host.startWorldServer({ proto: 'tcp', port: 8080 });
    const udp = await host.startWorldServer({ proto: 'udp', port: 5353 });
    const t = await host.request('host', { proto: 'tcp', address: host.worldAddress, port: tcp.port, message: 'hi' });
    expect(t).toMatchObject({ ok: true, reply: { proto: 'tcp', peer: host.em0Address, local: host.worldAddress, localPort: 8080, data: 'hi\n' } });
    const u = await host.request('host', { proto: 'udp', address: host.worldAddress, port: udp.port });
    expect(u).toMatchObject({ ok: true, reply: { proto: 'udp', peer: host.em0Address } });
    const t6 = await host.request('host', { proto: 'tcp', address: host.worldAddress6, port: tcp.port });
    expect(t6).toMatchObject({ ok: true, reply: { peer: host.em0Address6 } });
    await tcp.stop();
    await udp.stop();
  });

  test('a jail reaches the world through the host with plain routing (forwarding on, a route back in the world)', async () => {
    const tcp = await host.startWorldServer({ proto: 'tcp', port: 9000 });
    await host.createJail('wj');
    const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    await host.runOk('ifconfig', [a, 'inet', '10.80.0.1/24', 'up']);
    await host.runOk('ifconfig', [b, 'vnet', 'wj']);
    await host.runOk('ifconfig', ['-j', 'wj', b, 'inet', '10.80.0.2/24']);
    await host.runOk('route', ['-j', 'wj', '-4', 'add', 'default', '10.80.0.1']);
    // Without forwarding the host drops the jail's packets.
    const before = await host.request('wj', { proto: 'tcp', address: host.worldAddress, port: tcp.port, timeoutMs: 1000 });
    expectFailure(before, 'timeout');
    await host.runOk('sysctl', ['net.inet.ip.forwarding=1']);
    // The world knows no route to 10.80.0.0/24 until it is given one (no NAT here: that is pf's job).
    expect((await host.worldExec(['/usr/sbin/ip', 'route', 'add', '10.80.0.0/24', 'via', host.em0Address])).code).toBe(0);
    const r = await host.request('wj', { proto: 'tcp', address: host.worldAddress, port: tcp.port });
    expect(r).toMatchObject({ ok: true, reply: { peer: '10.80.0.2' } });
    const ping = await host.jexec('wj', ['/usr/bin/ping', '-c', '1', '-W', '3', host.worldAddress]);
    expect(ping.code).toBe(0);
    await host.removeJail('wj');
    await host.runOk('ifconfig', [a, 'destroy']);
    await tcp.stop();
  });
});
