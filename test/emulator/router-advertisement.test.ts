/**
 * Router advertisements on the emulated host, with a real router (radvd) in the world namespace:
 * ACCEPT_RTADV, and what net.inet6.ip6.forwarding and net.inet6.ip6.rfc6204w3 do to the default
 * route learnt from RAs (sys/netinet6/nd6_rtr.c nd6_ra_input).
 */
import { parseIfconfig } from '../../src/freebsd/parse/ifconfig';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { startRouter, type Router } from '../helpers/router';

const d = canRunEmulator ? describe : describe.skip;

d('router advertisements', () => {
  let host: EmulatedHost;
  let router: Router;
  beforeAll(async () => {
    host = await createEmulatedHost();
    router = await startRouter(host);
    // The host is a SLAAC host: no static IPv6 default route.
    await host.runOk('route', ['-6', 'delete', 'default']);
  }, 60_000);
  afterAll(async () => {
    await host?.destroy();
  });

  test('ACCEPT_RTADV takes RAs: a default route through the router\'s link-local address', async () => {
    expect(await host.runOk('sysctl', ['-n', 'net.inet6.ip6.rfc6204w3', 'net.inet6.ip6.accept_rtadv'])).toBe('0\n0\n');
    // Without the flag the RAs the router sends are ignored.
    await router.sent(2);
    expect(await host.runOk('netstat', ['-rn', '-f', 'inet6'])).not.toMatch(/^default/m);
    await host.runOk('ifconfig', ['em0', 'inet6', 'accept_rtadv']);
    expect(parseIfconfig(await host.runOk('ifconfig', ['em0']))[0]?.other.nd6).toMatch(/ACCEPT_RTADV/);
    await router.sent(2);
    const line = (await host.runOk('netstat', ['-rn', '-f', 'inet6'])).split('\n').find((l) => l.startsWith('default'));
    expect(line?.split(/ +/).slice(0, 4)).toEqual(['default', `${router.linkLocal}%em0`, 'UG', 'em0']);
  });

  test('forwarding=1 without rfc6204w3 loses that route and ignores later RAs; with rfc6204w3=1 RAs give it again', async () => {
    expect(await host.runOk('sysctl', ['net.inet6.ip6.forwarding=1'])).toBe('net.inet6.ip6.forwarding: 0 -> 1\n');
    await router.sent(2);
    expect(await host.runOk('netstat', ['-rn', '-f', 'inet6'])).not.toMatch(/^default/m);
    await host.runOk('sysctl', ['net.inet6.ip6.rfc6204w3=1']);
    await router.sent(2);
    expect(await host.runOk('netstat', ['-rn', '-f', 'inet6'])).toMatch(/^default +fe80:/m);
  });

  test('with rfc6204w3=1 set first, turning forwarding on keeps the route', async () => {
    await host.runOk('sysctl', ['net.inet6.ip6.forwarding=0']);
    expect(await host.runOk('sysctl', ['net.inet6.ip6.forwarding=1'])).toBe('net.inet6.ip6.forwarding: 0 -> 1\n');
    expect(await host.runOk('netstat', ['-rn', '-f', 'inet6'])).toMatch(/^default +fe80:/m);
  });
});
