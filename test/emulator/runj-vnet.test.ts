/**
 * runj's own vnet test, wired by hand with the FreeBSD commands of runj.md: two vnet jails on
 * a bridge ping each other with real ICMP.
 */
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

d('runj vnet wiring on the emulated host', () => {
  let host: EmulatedHost;
  beforeAll(async () => {
    host = await createEmulatedHost();
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('two jails on a bridge ping each other and the bridge', async () => {
    const bridge = (await host.runOk('ifconfig', ['bridge', 'create'])).trim();
    expect(bridge).toMatch(/^bridge\d+$/);
    await host.runOk('ifconfig', [bridge, 'inet', '172.31.255.1/24']);
    const jails = ['ja', 'jb'];
    for (const [i, jail] of jails.entries()) {
      await host.createJail(jail);
      const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
      expect(a).toMatch(/^epair\d+a$/);
      const b = a.replace(/a$/, 'b');
      await host.runOk('ifconfig', [bridge, 'addm', a]);
      await host.runOk('ifconfig', [a, 'up']);
      await host.runOk('ifconfig', [b, 'vnet', jail]);
      await host.runOk('ifconfig', ['-j', jail, b, 'inet', `172.31.255.${i + 2}/24`]);
      expect(await host.runOk('route', ['-j', jail, '-4', 'add', 'default', '172.31.255.1'])).toBe('add net default: gateway 172.31.255.1\n');
    }
    const ping = await host.jexec('ja', ['/usr/bin/ping', '-c', '1', '-W', '5', '172.31.255.3']);
    expect(ping.stderr).toBe('');
    expect(ping.stdout).toMatch(/1 packets transmitted, 1 received/);
    expect(ping.code).toBe(0);
    const back = await host.jexec('jb', ['/usr/bin/ping', '-c', '1', '-W', '5', '172.31.255.2']);
    expect(back.code).toBe(0);
    const gw = await host.jexec('jb', ['/usr/bin/ping', '-c', '1', '-W', '5', '172.31.255.1']);
    expect(gw.code).toBe(0);
    const show = await host.runOk('ifconfig', [bridge]);
    expect(show).toMatch(/^bridge\d+: flags=[0-9a-f]+<UP,BROADCAST,RUNNING/);
    expect(show).toMatch(/\tmember: epair\d+a flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>/);
    expect(show).toMatch(/\tinet 172\.31\.255\.1 netmask 0xffffff00 broadcast 172\.31\.255\.255/);
  });
});
