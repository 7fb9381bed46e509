/** route and sysctl on the emulated host. */
import { parseRouteGet, isRouteExists, isRouteMissing } from '../../src/freebsd/parse/route';
import { parseSysctlSet } from '../../src/freebsd/parse/sysctl';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

d('emulated route and sysctl', () => {
  let host: EmulatedHost;
  beforeAll(async () => {
    host = await createEmulatedHost();
    await host.createJail('rj');
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('route get default names em0', async () => {
    const out = await host.runOk('route', ['-n', 'get', '-inet', 'default']);
    // -n: the zero address as a number (route.c routename()); test/fixtures/freebsd/route-14-get-default-n.txt.
    expect(out.split('\n').slice(0, 7)).toEqual([
      '   route to: 0.0.0.0',
      'destination: 0.0.0.0',
      '       mask: 0.0.0.0',
      `    gateway: ${host.worldAddress}`,
      '        fib: 0',
      '  interface: em0',
      '      flags: <UP,GATEWAY,DONE,STATIC>',
    ]);
    expect(parseRouteGet(out)).toMatchObject({ interface: 'em0', gateway: host.worldAddress, destination: '0.0.0.0' });
    expect(parseRouteGet(await host.runOk('route', ['get', '-inet', 'default']))).toMatchObject({ destination: 'default', mask: 'default' });
    expect(parseRouteGet(await host.runOk('route', ['-n', 'get', '-inet6', 'default'])).interface).toBe('em0');
    expect(parseRouteGet(await host.runOk('route', ['-n', 'get', '198.51.100.77']))).toMatchObject({ destination: '198.51.100.0', mask: '255.255.255.0', interface: 'em0' });
  });

  test('add, exists, delete, missing, -interface, in a jail and on the host', async () => {
    const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    await host.runOk('ifconfig', [a, 'inet', '10.70.0.1/24']);
    await host.runOk('ifconfig', [b, 'vnet', 'rj']);
    await host.runOk('ifconfig', ['-j', 'rj', b, 'inet', '10.70.0.2/24']);
    expect(await host.run('route', ['-j', 'rj', '-4', 'add', 'default', '10.70.0.1'])).toMatchObject({ code: 0, stdout: 'add net default: gateway 10.70.0.1\n' });
    const again = await host.run('route', ['-j', 'rj', '-4', 'add', 'default', '10.70.0.1']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/route already in table\n$/);
    expect(isRouteExists(again.stdout)).toBe(true);
    expect(parseRouteGet(await host.runOk('route', ['-j', 'rj', '-n', 'get', '-inet', 'default']))).toMatchObject({ gateway: '10.70.0.1', interface: b });
    expect(await host.runOk('route', ['add', '-net', '10.71.0.0/16', '10.70.0.2'])).toBe('add net 10.71.0.0/16: gateway 10.70.0.2\n');
    expect(await host.runOk('route', ['add', '-host', '10.72.0.9', '-interface', a])).toBe(`add host 10.72.0.9: gateway ${a}\n`);
    expect(parseRouteGet(await host.runOk('route', ['-n', 'get', '10.71.3.4']))).toMatchObject({ destination: '10.71.0.0', mask: '255.255.0.0', gateway: '10.70.0.2', interface: a });
    expect(await host.runOk('route', ['delete', '-net', '10.71.0.0/16', '10.70.0.2'])).toBe('delete net 10.71.0.0/16: gateway 10.70.0.2\n');
    const missing = await host.run('route', ['delete', '-net', '10.71.0.0/16', '10.70.0.2']);
    // route.c prints ESRCH as "not in table" on stdout; the 14.x netlink path warns nothing more.
    expect(missing).toMatchObject({ code: 1, stdout: 'delete net 10.71.0.0/16: gateway 10.70.0.2 fib 0: not in table\n', stderr: '' });
    expect(isRouteMissing(missing.stdout)).toBe(true);
    expect(await host.run('route', ['-n', 'get', '-inet6', '2001:db8:ffff::1'])).toMatchObject({ code: 0 });
    expect(await host.run('route', ['-j', 'rj', '-n', 'get', '-inet6', 'default'])).toMatchObject({ code: 1, stderr: 'route: route has not been found\n' });
    // sbin/route/route.c, -j: errx(1, "Jail not found") / errx(1, "Cannot attach to jail").
    expect(await host.run('route', ['-j', 'nojail', 'add', 'default', '10.0.0.1'])).toMatchObject({ code: 1, stdout: '', stderr: 'route: Jail not found\n' });
    expect(await host.run('route', ['-j', '4242', '-n', 'get', 'default'])).toMatchObject({ code: 1, stdout: '', stderr: 'route: Cannot attach to jail\n' });
    const bad = await host.run('route', ['add', '-bogus', 'default', '10.0.0.1']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^route: bad keyword: bogus\nusage: route/);
    // IPv6 with a link-local gateway.
    await host.runOk('ifconfig', ['-j', 'rj', b, 'inet6', '-ifdisabled']);
    expect(await host.runOk('route', ['-j', 'rj', '-6', 'add', 'default', `fe80::1%${b}`])).toBe(`add net default: gateway fe80::1%${b}\n`);
    expect(parseRouteGet(await host.runOk('route', ['-j', 'rj', '-n', 'get', '-inet6', 'default']))).toMatchObject({ gateway: 'fe80::1', interface: b });
    await host.runOk('ifconfig', [a, 'destroy']);
  });

  test('a second gateway for a prefix makes a multipath route (net.route.multipath=1); route get, netstat and delete agree', async () => {
    // sys/net/route/route_ctl.c: route(8) adds in append mode; with net.route.multipath=1 (the
    // default) another gateway joins the route as a second path, the same gateway is EEXIST.
    await host.createJail('mp');
    const a1 = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const a2 = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const [b1, b2] = [a1, a2].map((a) => a.replace(/a$/, 'b')) as [string, string];
    for (const b of [b1, b2]) await host.runOk('ifconfig', [b, 'vnet', 'mp']);
    await host.runOk('ifconfig', ['-j', 'mp', b1, 'inet', '10.81.0.2/24']);
    await host.runOk('ifconfig', ['-j', 'mp', b2, 'inet', '10.82.0.2/24']);
    expect(await host.runOk('sysctl', ['-j', 'mp', '-n', 'net.route.multipath'])).toBe('1\n');
    expect(await host.runOk('route', ['-j', 'mp', 'add', 'default', '10.81.0.1'])).toBe('add net default: gateway 10.81.0.1\n');
    expect(await host.run('route', ['-j', 'mp', 'add', 'default', '10.82.0.1'])).toEqual({ code: 0, stdout: 'add net default: gateway 10.82.0.1\n', stderr: '' });
    expect(await host.run('route', ['-j', 'mp', 'add', 'default', '10.82.0.1'])).toMatchObject({ code: 1, stdout: 'add net default: gateway 10.82.0.1 fib 0: route already in table\n' });
    // sbin/route/route_netlink.c print_getmsg: no RTA_GATEWAY in a multipath answer, no `gateway:` line.
    const got = parseRouteGet(await host.runOk('route', ['-j', 'mp', '-n', 'get', '-inet', 'default']));
    expect(got.flags).toContain('GATEWAY');
    expect(got.gateway).toBeUndefined();
    // usr.bin/netstat/route_netlink.c p_rtentry_netlink: one line per path.
    const defaults = (await host.runOk('netstat', ['-j', 'mp', '-rn', '-f', 'inet'])).split('\n').filter((l) => l.startsWith('default'));
    expect(defaults.map((l) => l.split(/ +/).slice(0, 4))).toEqual([
      ['default', '10.81.0.1', 'UGS', b1],
      ['default', '10.82.0.1', 'UGS', b2],
    ]);
    // Both paths carry traffic in Linux too: the route is one multipath route.
    expect((await host.jexec('mp', ['/usr/sbin/ip', '-j', 'route', 'show', 'default'])).stdout).toContain('"nexthops"');
    // Deleting one path leaves the other as a plain gateway route.
    expect(await host.run('route', ['-j', 'mp', 'delete', 'default', '10.83.0.1'])).toMatchObject({ code: 1, stdout: 'delete net default: gateway 10.83.0.1 fib 0: not in table\n' });
    expect(await host.runOk('route', ['-j', 'mp', 'delete', 'default', '10.81.0.1'])).toBe('delete net default: gateway 10.81.0.1\n');
    expect(parseRouteGet(await host.runOk('route', ['-j', 'mp', '-n', 'get', 'default']))).toMatchObject({ gateway: '10.82.0.1', interface: b2 });
    // With net.route.multipath=0 a second gateway is refused.
    expect(await host.runOk('sysctl', ['-j', 'mp', 'net.route.multipath=0'])).toBe('net.route.multipath: 1 -> 0\n');
    expect(await host.run('route', ['-j', 'mp', 'add', 'default', '10.81.0.1'])).toMatchObject({ code: 1, stdout: 'add net default: gateway 10.81.0.1 fib 0: route already in table\n' });
    await host.runOk('sysctl', ['-j', 'mp', 'net.route.multipath=1']);
    // An interface route takes no second path either (nhop_can_multipath).
    await host.runOk('route', ['-j', 'mp', 'add', '-net', '10.90.0.0/16', '-interface', b1]);
    expect(await host.run('route', ['-j', 'mp', 'add', '-net', '10.90.0.0/16', '10.82.0.1'])).toMatchObject({ code: 1, stdout: 'add net 10.90.0.0/16: gateway 10.82.0.1 fib 0: route already in table\n' });
    // route delete without a gateway takes the whole route, every path.
    await host.runOk('route', ['-j', 'mp', 'add', 'default', '10.81.0.1']);
    expect(await host.runOk('route', ['-j', 'mp', 'delete', 'default'])).toBe('delete net default\n');
    expect((await host.runOk('netstat', ['-j', 'mp', '-rn', '-f', 'inet'])).split('\n').filter((l) => l.startsWith('default'))).toEqual([]);
    for (const a of [a1, a2]) await host.runOk('ifconfig', [a, 'destroy']);
    await host.removeJail('mp');
  });

  test('netstat -rn: usr.bin/netstat/route.c layout, local addresses on lo0, interface routes through link#N', async () => {
    const out = await host.runOk('netstat', ['-rn']);
    const lines = out.split('\n');
    expect(lines.slice(0, 4)).toEqual(['Routing tables', '', 'Internet:', 'Destination        Gateway            Flags     Netif Expire']);
    expect(lines).toContain(`default            ${host.worldAddress.padEnd(18)} UGS         em0`);
    expect(lines).toContainEqual(expect.stringMatching(/^198\.51\.100\.0\/24 {4}link#\d+ +U {11}em0$/));
    expect(lines).toContainEqual(expect.stringMatching(/^198\.51\.100\.2 {7}link#\d+ +UHS {9}lo0$/));
    expect(lines).toContain('Internet6:');
    expect(lines).toContain('Destination                       Gateway                       Flags     Netif Expire');
    expect(lines).toContain(`::/96                             ::1                           UGRS        lo0`);
    expect((await host.runOk('netstat', ['-rnW', '-f', 'inet'])).split('\n')[3]).toBe('Destination        Gateway            Flags   Nhop#    Mtu      Netif Expire');
    expect(await host.run('netstat', ['-an'])).toMatchObject({ code: 1, stderr: 'netstat: only the routing tables (netstat -r) are emulated\n' });
  });

  test('sysctl: forwarding per vnet, pf knobs in sysctl.json, unknown oids', async () => {
    expect(await host.runOk('sysctl', ['-n', 'net.inet.ip.forwarding'])).toBe('0\n');
    const set = await host.runOk('sysctl', ['net.inet.ip.forwarding=1']);
    expect(set).toBe('net.inet.ip.forwarding: 0 -> 1\n');
    expect(parseSysctlSet(set)).toEqual({ name: 'net.inet.ip.forwarding', old: '0', new: '1' });
    expect((await host.hostExec(['/usr/sbin/sysctl', '-n', 'net.ipv4.ip_forward'])).stdout).toBe('1\n');
    // The jail's vnet has its own value.
    expect(await host.runOk('jexec', ['rj', '/sbin/sysctl', '-n', 'net.inet.ip.forwarding'])).toBe('0\n');
    expect(await host.runOk('sysctl', ['net.inet6.ip6.forwarding=1'])).toBe('net.inet6.ip6.forwarding: 0 -> 1\n');
    expect(await host.runOk('sysctl', ['net.inet.ip.forwarding'])).toBe('net.inet.ip.forwarding: 1\n');
    // Emulator state shared with the emulated pf.
    expect(await host.runOk('sysctl', ['-n', 'net.pf.filter_local', 'net.link.bridge.pfil_member', 'net.link.bridge.pfil_bridge'])).toBe('0\n1\n1\n');
    expect(await host.runOk('sysctl', ['net.pf.filter_local=1', 'net.link.bridge.pfil_member=0'])).toBe('net.pf.filter_local: 0 -> 1\nnet.link.bridge.pfil_member: 1 -> 0\n');
    expect(JSON.parse(readFileSync(join(host.dir, 'state', 'sysctl.json'), 'utf8'))).toEqual({ 'net.pf.filter_local': '1', 'net.link.bridge.pfil_member': '0' });
    expect(await host.run('sysctl', ['net.bogus.oid'])).toMatchObject({ code: 1, stderr: "sysctl: unknown oid 'net.bogus.oid'\n" });
    expect(await host.run('sysctl', ['net.inet.ip.forwarding=abc'])).toMatchObject({ code: 1, stderr: "sysctl: invalid integer 'abc'\n" });
    expect(await host.runOk('sysctl', ['-n', 'net.inet.ip.forwarding=0'])).toBe('1 -> 0\n');
    // FreeBSD 14 defaults of the OIDs the emulated route, ifconfig and pf read
    // (route_ctl.c, in6_proto.c, ip_input.c).
    expect(await host.runOk('sysctl', ['net.route.multipath', 'net.inet6.ip6.accept_rtadv', 'net.inet6.ip6.rfc6204w3', 'net.inet.ip.source_address_validation'])).toBe(
      'net.route.multipath: 1\nnet.inet6.ip6.accept_rtadv: 0\nnet.inet6.ip6.rfc6204w3: 0\nnet.inet.ip.source_address_validation: 1\n',
    );
  });

  test('per-vnet knobs the tuning plugin sets: FreeBSD 14 defaults, a jail\'s own value, -j, EINVAL below a minimum', async () => {
    // raw_ip.c, ip_input.c, in_pcb.c, tcp_subr.c, tcp_syncache.c, in6_proto.c.
    const names = ['net.inet.ip.ttl', 'net.inet.ip.redirect', 'net.inet.ip.portrange.first', 'net.inet.ip.portrange.last', 'net.inet.tcp.mssdflt', 'net.inet.tcp.syncookies', 'net.inet6.ip6.hlim', 'net.inet6.ip6.dad_count'];
    expect(await host.runOk('sysctl', ['-n', ...names])).toBe('64\n1\n10000\n65535\n536\n1\n64\n1\n');
    expect(await host.runOk('sysctl', ['-j', 'rj', 'net.inet.ip.ttl=32'])).toBe('net.inet.ip.ttl: 64 -> 32\n');
    expect(await host.runOk('jexec', ['rj', '/sbin/sysctl', '-n', 'net.inet.ip.ttl'])).toBe('32\n');
    expect(await host.runOk('sysctl', ['-n', 'net.inet.ip.ttl'])).toBe('64\n');
    expect(await host.run('sysctl', ['-j', 'rj', 'net.inet.tcp.mssdflt=100'])).toMatchObject({ code: 1, stderr: 'sysctl: net.inet.tcp.mssdflt=100: Invalid argument\n' });
    expect(await host.runOk('sysctl', ['-j', 'rj', '-n', 'net.inet.tcp.mssdflt'])).toBe('536\n');
    expect(await host.runOk('sysctl', ['-j', 'rj', 'net.inet.ip.ttl=64'])).toBe('net.inet.ip.ttl: 32 -> 64\n');
  });

  test('sysctl usage errors: getopt\'s message, FreeBSD 14\'s usage text, exit status 1', async () => {
    // sbin/sysctl/sysctl.c: usage() prints two lines and exits 1 (not EX_USAGE).
    const USAGE = 'usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] name[=value] ...\n       sysctl [-bdehNnoqTtWx] [ -B <bufsize> ] -a\n';
    const cases: [string[], string][] = [
      [['-Z', 'net.inet.ip.forwarding'], `sysctl: illegal option -- Z\n${USAGE}`],
      [['-B'], `sysctl: option requires an argument -- B\n${USAGE}`],
      [[], USAGE],
      [['-N', '-n', 'net.inet.ip.forwarding'], USAGE],
    ];
    for (const [args, stderr] of cases) {
      const r = await host.run('sysctl', args);
      expect({ args, ...r }).toEqual({ args, code: 1, stdout: '', stderr });
    }
    // -w (ignored) and -X (-a -x) are FreeBSD options too.
    expect(await host.runOk('sysctl', ['-w', '-n', 'kern.ostype'])).toBe('FreeBSD\n');
    expect(await host.runOk('sysctl', ['-X'])).toContain('kern.ostype: FreeBSD\n');
  });
});
