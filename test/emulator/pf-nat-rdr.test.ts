/**
 * The emulated pf with real packets: jails wired by hand as runj's vnet test does (bridge,
 * epairs, addresses, default routes through the emulated ifconfig/route/jail tools), rules
 * loaded into anchors with the emulated pfctl, TCP/UDP/ICMP between the jails, the host and
 * the world namespace behind em0.
 */
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { expectFailure } from '../helpers/reach';

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
      expectFailure(await tcp('j1', host.worldAddress, 7001), 'timeout');
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
      expectFailure(await tcp('j2', host.worldAddress, 7001), 'timeout');
    } finally {
      await srv.stop();
      await udp.stop();
    }
  });

  test('the world reaches a jail service through `rdr pass on em0 ... to (em0) port 8080 -> JAIL port 80`', async () => {
    const svc = await host.startJailServer('j2', { proto: 'tcp', port: 80 });
    const usvc = await host.startJailServer('j2', { proto: 'udp', port: 5353 });
    try {
      await pfOk(['-f', '-'], HOOKS);
      await load(
        'jailnet/j2',
        `rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\nrdr pass on em0 inet proto udp from any to (em0) port 5353 -> ${J2}\n`,
      );
      await pfOk(['-e']);
      const r = await tcp('world', host.em0Address, 8080);
      expect(r).toMatchObject({ ok: true, reply: { peer: host.worldAddress, local: J2, localPort: 80 } });
      const u = await host.request('world', { proto: 'udp', address: host.em0Address, port: 5353 });
      expect(u).toMatchObject({ ok: true, reply: { peer: host.worldAddress, localPort: 5353 } });
      // Other ports are not redirected.
      expectFailure(await tcp('world', host.em0Address, 8081), 'refused');
    } finally {
      await svc.stop();
      await usvc.stop();
    }
  });

  test('without the anchor hooks in the main ruleset the same anchor rules do nothing', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7003 });
    const svc = await host.startJailServer('j2', { proto: 'tcp', port: 80 });
    try {
      await pfOk(['-f', '-'], 'pass all\n');
      await load('jailnet/j1', `nat on em0 inet from ${J1} to any -> (em0)\n`);
      await load('jailnet/j2', `rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\n`);
      await pfOk(['-e']);
      expectFailure(await tcp('j1', host.worldAddress, 7003), 'timeout');
      expectFailure(await tcp('world', host.em0Address, 8080), 'refused');
      // The same anchors start working once the main ruleset hooks them.
      await pfOk(['-f', '-'], `${HOOKS}pass all\n`);
      expect(await tcp('j1', host.worldAddress, 7003)).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
      expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { local: J2 } });
      // A named hook evaluates that anchor only.
      await pfOk(['-f', '-'], 'nat-anchor "jailnet/j1"\nrdr-anchor "jailnet/j1"\n');
      expect((await tcp('j1', host.worldAddress, 7003)).ok).toBe(true);
      expectFailure(await tcp('world', host.em0Address, 8080), 'refused');
    } finally {
      await srv.stop();
      await svc.stop();
    }
  });

  test('"name/*" evaluates the direct children in strcmp order, not deeper', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7004 });
    try {
      await pfOk(['-f', '-'], HOOKS);
      await pfOk(['-e']);
      // A grandchild is not evaluated by jailnet/*.
      await load('jailnet/deep/j1', `nat on em0 inet from ${J1} to any -> (em0)\n`);
      expectFailure(await tcp('j1', host.worldAddress, 7004), 'timeout');
      // First match wins across children in name order: "a" (no nat) before "b" (nat).
      await load('jailnet/b', `nat on em0 inet from ${J1} to any -> (em0)\n`);
      expect((await tcp('j1', host.worldAddress, 7004)).ok).toBe(true);
      await load('jailnet/a', `no nat on em0 inet from ${J1} to any\n`);
      expectFailure(await tcp('j1', host.worldAddress, 7004), 'timeout');
      expect((await pfOk(['-s', 'Anchors'])).stdout).toBe('  jailnet\n  jailnet/a\n  jailnet/b\n  jailnet/deep\n  jailnet/deep/j1\n');
    } finally {
      await srv.stop();
    }
  });

  test('no reflection: a jail reaching em0:8080 needs an rdr on the bridge; the bridged reply is un-translated by the state while pf sees bridged frames', async () => {
    const svc = await host.startJailServer('j2', { proto: 'tcp', port: 80 });
    try {
      await pfOk(['-f', '-'], HOOKS);
      await load('jailnet/j2', `rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\n`);
      await pfOk(['-e']);
      expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true });
      const direct = await tcp('j1', host.em0Address, 8080);
      expect(direct).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      // A rule on the bridge redirects it. j2's reply goes straight to j1 (same subnet,
      // bridged), and its pass out on bridge0 finds the rdr state by its stack key (floating
      // states, pf.c pf_find_state), which puts em0:8080 back as the source: it works, and j2
      // sees j1 itself.
      const rdrs = `rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\nrdr pass on bridge0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\n`;
      await load('jailnet/j2', rdrs);
      expect(await tcp('j1', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: J1, local: J2 } });
      // With pfil_bridge=0 and pfil_member=0 pf never sees the bridged reply: it reaches j1
      // with j2's address, and the connection does not come up.
      await host.runOk('sysctl', ['net.link.bridge.pfil_bridge=0', 'net.link.bridge.pfil_member=0']);
      expect(await tcp('j1', host.em0Address, 8080)).toMatchObject({ ok: false, error: 'timeout after 1500 ms' });
      // `nat on bridge0 ... -> (bridge0)` makes the reply come back through the host: it
      // works whatever the sysctls say, and the service sees the bridge's address.
      await load('jailnet/j2', `nat on bridge0 inet from 10.88.0.0/24 to ${J2} port 80 -> (bridge0)\n${rdrs}`);
      expect(await tcp('j1', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, local: J2, localPort: 80 } });
    } finally {
      await host.run('sysctl', ['net.link.bridge.pfil_bridge=1', 'net.link.bridge.pfil_member=1']);
      await svc.stop();
    }
  });

  test('the host\'s own connections go through lo0: an rdr that applies to lo0 redirects them and the reply is dropped as spoofed (timeout); `on ! lo0` leaves them alone', async () => {
    const svc = await host.startJailServer('j2', { proto: 'tcp', port: 80 });
    try {
      await pfOk(['-f', '-'], HOOKS);
      await load('jailnet/j2', `rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\n`);
      await pfOk(['-e']);
      // Not redirected: nothing listens on the host's 8080.
      expect(await tcp('host', host.em0Address, 8080)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      // An rdr without `on` applies to lo0: the connection is redirected to j2, whose reply
      // comes back on bridge0 with em0's (local) address as its source once the state undoes
      // the rdr: source address validation (ip_input.c) drops it, the client times out.
      const onEm0 = `rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80`;
      for (const rules of [`rdr pass inet proto tcp from any to (em0) port 8080 -> ${J2} port 80`, `${onEm0}\nrdr pass on lo0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80`]) {
        await load('jailnet/j2', `${rules}\n`);
        expect(await tcp('host', host.em0Address, 8080)).toMatchObject({ ok: false, error: 'timeout after 1500 ms' });
        expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { local: J2 } });
      }
      // net.pf.filter_local does not change that: it adds an "out" pass, not rdr.
      await host.runOk('sysctl', ['net.pf.filter_local=1']);
      await pfOk(['-d']);
      await pfOk(['-e']);
      expect(await tcp('host', host.em0Address, 8080)).toMatchObject({ ok: false, error: 'timeout after 1500 ms' });
      // `on ! lo0`: every interface but lo0; the host's connection is not redirected.
      await load('jailnet/j2', `rdr pass on ! lo0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\n`);
      expect(await tcp('host', host.em0Address, 8080)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { local: J2 } });
      expect(await tcp('j1', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { local: J2 } });
      expect((await pfOk(['-a', 'jailnet/j2', '-s', 'nat'])).stdout).toBe(`rdr pass on ! lo0 inet proto tcp from any to (em0) port = http-alt -> ${J2} port 80\n`);
    } finally {
      await host.run('sysctl', ['net.pf.filter_local=0']);
      await svc.stop();
    }
  });

  test('net.pf.filter_local, as read at pfctl -e, adds an "out on lo0" pass for packets delivered to the host', async () => {
    await host.createJail('plain', { vnet: false }); // shares the host's network stack
    const srv = await host.startJailServer('plain', { proto: 'tcp', port: 7777 });
    try {
      await pfOk(['-f', '-'], 'block return out on lo0 inet proto tcp from any to any port 7777\n');
      await pfOk(['-e']);
      expect(await tcp('world', host.em0Address, 7777)).toMatchObject({ ok: true, reply: { peer: host.worldAddress } });
      // Read only when pf hooks into the stack: setting it changes nothing until -d, -e.
      await host.runOk('sysctl', ['net.pf.filter_local=1']);
      expect(await tcp('world', host.em0Address, 7777)).toMatchObject({ ok: true });
      await pfOk(['-d']);
      await pfOk(['-e']);
      // Out on lo0 drops (block return on the way out drops, see the differences).
      expect(await tcp('world', host.em0Address, 7777)).toMatchObject({ ok: false, error: 'timeout after 1500 ms' });
      // nat rules for lo0 apply there too: they can change the source the service sees.
      await pfOk(['-f', '-'], `nat on lo0 inet from ${host.worldAddress} to any port 7777 -> 192.0.2.99\n`);
      expect(await tcp('world', host.em0Address, 7777)).toMatchObject({ ok: true, reply: { peer: '192.0.2.99' } });
      await host.runOk('sysctl', ['net.pf.filter_local=0']);
      expect(await tcp('world', host.em0Address, 7777)).toMatchObject({ ok: true, reply: { peer: '192.0.2.99' } });
      await pfOk(['-d']);
      await pfOk(['-e']);
      expect(await tcp('world', host.em0Address, 7777)).toMatchObject({ ok: true, reply: { peer: host.worldAddress } });
    } finally {
      await host.run('sysctl', ['net.pf.filter_local=0']);
      await srv.stop();
      await host.removeJail('plain');
    }
  });

  test('port ranges: `port 8000:8010 -> JAIL port 8000:*` maps one to one, also onto other numbers', async () => {
    const s1 = await host.startJailServer('j2', { proto: 'tcp', port: 8000 });
    const s2 = await host.startJailServer('j2', { proto: 'tcp', port: 8005 });
    try {
      await pfOk(['-f', '-'], HOOKS);
      await load(
        'jailnet/j2',
        `rdr on em0 inet proto tcp from any to any port 8000:8010 -> ${J2} port 8000:*\nrdr on em0 inet proto tcp from any to any port 9000:9010 -> ${J2} port 8000:*\n`,
      );
      await pfOk(['-e']);
      expect(await tcp('world', host.em0Address, 8000)).toMatchObject({ ok: true, reply: { localPort: 8000 } });
      expect(await tcp('world', host.em0Address, 8005)).toMatchObject({ ok: true, reply: { localPort: 8005 } });
      expect(await tcp('world', host.em0Address, 9005)).toMatchObject({ ok: true, reply: { localPort: 8005 } });
      expectFailure(await tcp('world', host.em0Address, 9001), 'refused');
      expect((await pfOk(['-a', 'jailnet/j2', '-s', 'nat'])).stdout).toBe(
        `rdr on em0 inet proto tcp from any to any port 8000:8010 -> ${J2} port 8000:8010\nrdr on em0 inet proto tcp from any to any port 9000:9010 -> ${J2} port 8000:8010\n`,
      );
    } finally {
      await s1.stop();
      await s2.stop();
    }
  });

  test('table add/delete changes live NAT membership', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7005 });
    try {
      await pfOk(['-f', '-'], HOOKS);
      await load('jailnet/net', 'table <jailnet-net> persist\nnat on em0 inet from <jailnet-net> to any -> (em0)\n');
      await pfOk(['-e']);
      expectFailure(await tcp('j1', host.worldAddress, 7005), 'timeout');
      const add = await pfOk(['-a', 'jailnet/net', '-t', 'jailnet-net', '-T', 'add', J1]);
      expect(add.stderr).toBe('1/1 addresses added.\n');
      expect(await tcp('j1', host.worldAddress, 7005)).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
      expectFailure(await tcp('j2', host.worldAddress, 7005), 'timeout');
      // An entry that exists with the other sign is a conflict, not an addition (pfr_add_addrs).
      expect((await pfOk(['-a', 'jailnet/net', '-t', 'jailnet-net', '-T', 'add', `!${J1}`])).stderr).toBe('0/1 addresses added.\n');
      expect((await pfOk(['-a', 'jailnet/net', '-t', 'jailnet-net', '-T', 'add', '10.88.0.0/24', `!${J2}`])).stderr).toBe('2/2 addresses added.\n');
      // The most specific entry decides: j1 (its own entry) is in, j2 (negated) is out.
      expect((await tcp('j1', host.worldAddress, 7005)).ok).toBe(true);
      expectFailure(await tcp('j2', host.worldAddress, 7005), 'timeout');
      expect((await pfOk(['-a', 'jailnet/net', '-t', 'jailnet-net', '-T', 'show'])).stdout).toBe(`   10.88.0.0/24\n   ${J1}\n  !${J2}\n`);
      expect((await pfOk(['-a', 'jailnet/net', '-t', 'jailnet-net', '-T', 'delete', `!${J2}`])).stderr).toBe('1/1 addresses deleted.\n');
      expect((await tcp('j2', host.worldAddress, 7005)).ok).toBe(true);
      expect((await pfOk(['-a', 'jailnet/net', '-t', 'jailnet-net', '-T', 'flush'])).stderr).toBe('2 addresses deleted.\n');
      expectFailure(await tcp('j1', host.worldAddress, 7005), 'timeout');
      const test = await pfctl(['-a', 'jailnet/net', '-t', 'jailnet-net', '-T', 'test', J1, J2]);
      expect(test).toMatchObject({ code: 2, stderr: '0/2 addresses match.\n' });
    } finally {
      await srv.stop();
    }
  });

  test('(em0) follows the interface\'s addresses: the emulated ifconfig refreshes pf after a change', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7006 });
    const moved = '198.51.100.7';
    try {
      await pfOk(['-f', '-'], HOOKS);
      await load('jailnet/j1', `nat on em0 inet from ${J1} to any -> (em0)\n`);
      await pfOk(['-e']);
      expect(await tcp('j1', host.worldAddress, 7006)).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
      // Replace em0's address: add the new one, remove the old (the new one is promoted).
      await host.runOk('ifconfig', ['em0', 'inet', `${moved}/24`, 'alias']);
      await host.runOk('ifconfig', ['em0', 'inet', host.em0Address, '-alias']);
      expect(await tcp('j1', host.worldAddress, 7006)).toMatchObject({ ok: true, reply: { peer: moved } });
      expect((await pfOk(['-a', 'jailnet/j1', '-s', 'nat'])).stdout).toBe(`nat on em0 inet from ${J1} to any -> (em0) round-robin\n`);
    } finally {
      await host.run('ifconfig', ['em0', 'inet', `${host.em0Address}/24`, 'alias']);
      await host.run('ifconfig', ['em0', 'inet', moved, '-alias']);
      await srv.stop();
    }
  });

  test('`(em0)` round-robins over em0\'s addresses (pfctl prints round-robin); `(em0:0)` leaves from the first one only', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7007 });
    const alias = '198.51.100.8';
    const peers = async (n: number) => {
      const seen: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await tcp('j1', host.worldAddress, 7007);
        seen.push(r.ok ? r.reply.peer : `failed: ${r.error}`);
      }
      return seen;
    };
    try {
      await host.runOk('ifconfig', ['em0', 'inet', `${alias}/24`, 'alias']);
      await pfOk(['-f', '-'], HOOKS);
      await load('jailnet/j1', `nat on em0 inet from ${J1} to any -> (em0)\n`);
      await pfOk(['-e']);
      expect(new Set(await peers(4))).toEqual(new Set([host.em0Address, alias]));
      await load('jailnet/j1', `nat on em0 inet from ${J1} to any -> (em0:0)\n`);
      expect(await peers(4)).toEqual(Array(4).fill(host.em0Address));
      expect((await pfOk(['-a', 'jailnet/j1', '-s', 'nat'])).stdout).toBe(`nat on em0 inet from ${J1} to any -> (em0:0)\n`);
    } finally {
      await host.run('ifconfig', ['em0', 'inet', alias, '-alias']);
      await srv.stop();
    }
  });
});
