/**
 * The emulated pf with real packets: jails wired by hand as runj's vnet test does (bridge,
 * epairs, addresses, default routes through the emulated ifconfig/route/jail tools), rules
 * loaded into anchors with the emulated pfctl, TCP/UDP/ICMP between the jails, the host and
 * the world namespace behind em0.
 */
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

/** The hooks the project's conf/ snippet puts in the main ruleset. */
export const HOOKS = 'nat-anchor "jailnet/*"\nrdr-anchor "jailnet/*"\nanchor "jailnet/*"\n';

d('emulated pf: nat, rdr, anchors, tables with real packets', () => {
  let host: EmulatedHost;
  const J1 = '10.88.0.2';
  const J2 = '10.88.0.3';
  const GW = '10.88.0.1';

  const pfctl = async (args: string[], input?: string) => host.run('pfctl', args, input === undefined ? {} : { input });
  const pfOk = async (args: string[], input?: string) => {
    const r = await pfctl(args, input);
    if (r.code !== 0) throw new Error(`pfctl ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
    return r;
  };
  const load = (anchor: string, rules: string) => pfOk(['-a', anchor, '-f', '-'], rules);
  const tcp = (from: string, address: string, port: number, timeoutMs = 1500) => host.request(from, { proto: 'tcp', address, port, timeoutMs });

  beforeAll(async () => {
    host = await createEmulatedHost();
    const bridge = (await host.runOk('ifconfig', ['bridge', 'create'])).trim();
    expect(bridge).toBe('bridge0');
    await host.runOk('ifconfig', ['bridge0', 'inet', `${GW}/24`, 'up']);
    for (const [jail, addr] of [
      ['j1', J1],
      ['j2', J2],
    ] as const) {
      await host.createJail(jail);
      const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
      const b = a.replace(/a$/, 'b');
      await host.runOk('ifconfig', ['bridge0', 'addm', a]);
      await host.runOk('ifconfig', [a, 'up']);
      await host.runOk('ifconfig', [b, 'vnet', jail]);
      await host.runOk('ifconfig', ['-j', jail, b, 'inet', `${addr}/24`]);
      await host.runOk('route', ['-j', jail, '-4', 'add', 'default', GW]);
    }
    await host.runOk('sysctl', ['net.inet.ip.forwarding=1']);
  }, 60_000);

  afterAll(async () => {
    await host?.destroy();
  });

  afterEach(async () => {
    // Back to an empty pf between tests: flush every jailnet anchor and the main ruleset.
    await pfctl(['-a', 'jailnet/*', '-F', 'all']);
    await pfctl(['-F', 'all']);
    await pfctl(['-d']);
  });

  test('a jail reaches the world through `nat on em0 ... -> (em0)`; the server sees em0\'s address', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7001 });
    const udp = await host.startWorldServer({ proto: 'udp', port: 7002 });
    try {
      // No route back from the world to 10.88.0.0/24: without NAT the jail gets no answer.
      expect((await tcp('j1', host.worldAddress, 7001)).ok).toBe(false);
      await pfOk(['-f', '-'], HOOKS);
      await load('jailnet/j1', `nat on em0 inet from ${J1} to any -> (em0)\n`);
      expect((await pfOk(['-e'])).stderr).toBe('pf enabled\n');
      const r = await tcp('j1', host.worldAddress, 7001);
      expect(r).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
      if (r.ok) expect(r.reply.peerPort).toBeGreaterThanOrEqual(50001);
      const u = await host.request('j1', { proto: 'udp', address: host.worldAddress, port: 7002 });
      expect(u).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
      const ping = await host.jexec('j1', ['/usr/bin/ping', '-c', '1', '-W', '2', host.worldAddress]);
      expect(ping.code).toBe(0);
      // j2 is not in the rule: not translated.
      expect((await tcp('j2', host.worldAddress, 7001)).ok).toBe(false);
    } finally {
      await srv.stop();
      await udp.stop();
    }
  });
});
