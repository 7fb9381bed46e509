/**
 * The emulated pf's filter semantics and IPv6 with real packets: last match wins unless
 * quick, anchors evaluated in place, keep state vs no state, rdr pass skipping the filter,
 * block return, out rules, nat66 and rdr for inet6.
 */
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { expectFailure } from '../helpers/reach';

const d = canRunEmulator ? describe : describe.skip;

d('emulated pf: filter rules and IPv6 with real packets', () => {
  let host: EmulatedHost;
  const J = '10.89.0.2';
  const J6 = 'fd89::2';

  const pfctl = (args: string[], input?: string) => host.run('pfctl', args, input === undefined ? {} : { input });
  const pfOk = async (args: string[], input?: string) => {
    const r = await pfctl(args, input);
    if (r.code !== 0) throw new Error(`pfctl ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
    return r;
  };
  /** Loads a main ruleset and enables pf. */
  const main = async (rules: string) => {
    await pfOk(['-f', '-'], rules);
    await pfctl(['-e']);
  };
  const tcp = (from: string, address: string, port: number, timeoutMs = 1200) => host.request(from, { proto: 'tcp', address, port, timeoutMs });

  beforeAll(async () => {
    host = await createEmulatedHost();
    await host.runOk('ifconfig', ['bridge', 'create']);
    await host.runOk('ifconfig', ['bridge0', 'inet', '10.89.0.1/24', 'up']);
    await host.runOk('ifconfig', ['bridge0', 'inet6', 'fd89::1/64', 'alias']);
    await host.createJail('fj');
    const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    await host.runOk('ifconfig', ['bridge0', 'addm', a]);
    await host.runOk('ifconfig', [a, 'up']);
    await host.runOk('ifconfig', [b, 'vnet', 'fj']);
    await host.runOk('ifconfig', ['-j', 'fj', b, 'inet', `${J}/24`]);
    await host.runOk('ifconfig', ['-j', 'fj', b, 'inet6', `${J6}/64`, 'alias']);
    await host.runOk('route', ['-j', 'fj', '-4', 'add', 'default', '10.89.0.1']);
    await host.runOk('route', ['-j', 'fj', '-6', 'add', 'default', 'fd89::1']);
    await host.runOk('sysctl', ['net.inet.ip.forwarding=1']);
    await host.runOk('sysctl', ['net.inet6.ip6.forwarding=1']);
  }, 60_000);

  afterAll(async () => {
    await host?.destroy();
  });

  afterEach(async () => {
    await pfctl(['-a', 'jailnet/*', '-F', 'all']);
    await pfctl(['-F', 'all']);
    await pfctl(['-d']);
  });

  test('filter rules see the redirected address; the last matching rule decides', async () => {
    const svc = await host.startJailServer('fj', { proto: 'tcp', port: 80 });
    try {
      const rdr = `rdr on em0 inet proto tcp from any to (em0) port 8080 -> ${J} port 80\n`;
      await main(`${rdr}block in on em0 all\n`);
      expectFailure(await tcp('world', host.em0Address, 8080), 'timeout');
      await main(`${rdr}block in on em0 all\npass in on em0 inet proto tcp from any to ${J} port 80\n`);
      expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { local: J } });
      // A pass naming the original (pre-rdr) destination does not match.
      await main(`${rdr}block in on em0 all\npass in on em0 inet proto tcp from any to (em0) port 8080\n`);
      expectFailure(await tcp('world', host.em0Address, 8080), 'timeout');
      // Order matters: the block after the pass wins.
      await main(`${rdr}pass in on em0 inet proto tcp from any to ${J} port 80\nblock in on em0 all\n`);
      expectFailure(await tcp('world', host.em0Address, 8080), 'timeout');
      // ...unless the pass is quick.
      await main(`${rdr}pass in quick on em0 inet proto tcp from any to ${J} port 80\nblock in on em0 all\n`);
      expect((await tcp('world', host.em0Address, 8080)).ok).toBe(true);
      // `rdr pass` skips the filter rules for the redirected connection.
      await main(`rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> ${J} port 80\nblock in quick on em0 all\n`);
      expect((await tcp('world', host.em0Address, 8080)).ok).toBe(true);
    } finally {
      await svc.stop();
    }
  });

  test('keep state lets replies through; no state and the default pass do not', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7101 });
    const udp = await host.startWorldServer({ proto: 'udp', port: 7102 });
    try {
      await main('block in on em0 all\n');
      expectFailure(await tcp('host', host.worldAddress, 7101), 'timeout');
      await main('block in on em0 all\npass out on em0 proto tcp all no state\n');
      expectFailure(await tcp('host', host.worldAddress, 7101), 'timeout');
      await main('block in on em0 all\npass out on em0 proto { tcp udp } all\n');
      expect(await tcp('host', host.worldAddress, 7101)).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
      expect(await host.request('host', { proto: 'udp', address: host.worldAddress, port: 7102, timeoutMs: 1200 })).toMatchObject({ ok: true });
      expect((await pfOk(['-s', 'rules'])).stdout).toBe(
        'block drop in on em0 all\npass out on em0 proto tcp all flags S/SA keep state\npass out on em0 proto udp all keep state\n',
      );
    } finally {
      await srv.stop();
      await udp.stop();
    }
  });

  test('block return answers with a reset; block drop stays silent; out rules filter on the way out', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7103 });
    try {
      await main('block return in on em0 inet proto tcp from any to any port 9999\n');
      expect(await tcp('world', host.em0Address, 9999)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      await main('block drop in on em0 inet proto tcp from any to any port 9999\n');
      expect(await tcp('world', host.em0Address, 9999)).toMatchObject({ ok: false, code: 2 });
      await main('block out on em0 inet proto tcp from any to any port 7103\n');
      expectFailure(await tcp('host', host.worldAddress, 7103), 'timeout');
      await main('block out on bridge0 inet proto tcp from any to any port 7103\n');
      expect((await tcp('host', host.worldAddress, 7103)).ok).toBe(true);
      await main('block in on em0 inet proto icmp all\n');
      expect((await host.worldExec(['/usr/bin/ping', '-c', '1', '-W', '1', host.em0Address])).code).not.toBe(0);
      await main('block in on em0 inet proto icmp all\npass in on em0 inet proto icmp all icmp-type echoreq\n');
      expect((await host.worldExec(['/usr/bin/ping', '-c', '1', '-W', '2', host.em0Address])).code).toBe(0);
    } finally {
      await srv.stop();
    }
  });

  test('filter anchors are evaluated where the main ruleset hooks them; a quick anchor ends the evaluation', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7104 });
    try {
      await pfOk(['-a', 'jailnet/x', '-f', '-'], 'block out on em0 inet proto tcp from any to any port 7104\n');
      await main('pass out all\nanchor "jailnet/*"\n');
      expectFailure(await tcp('host', host.worldAddress, 7104), 'timeout');
      await main('anchor "jailnet/*"\npass out all\n');
      expect((await tcp('host', host.worldAddress, 7104)).ok).toBe(true);
      await main('anchor "jailnet/x" quick\npass out all\n');
      expectFailure(await tcp('host', host.worldAddress, 7104), 'timeout');
      // An anchor rule's conditions select which packets the anchor sees.
      await main('anchor "jailnet/x" quick on bridge0\npass out all\n');
      expect((await tcp('host', host.worldAddress, 7104)).ok).toBe(true);
    } finally {
      await srv.stop();
    }
  });

  test('IPv6: nat66 to (em0) and rdr for inet6', async () => {
    const srv = await host.startWorldServer({ proto: 'tcp', port: 7105 });
    const svc = await host.startJailServer('fj', { proto: 'tcp', port: 80 });
    try {
      await main('nat-anchor "jailnet/*"\nrdr-anchor "jailnet/*"\n');
      await pfOk(
        ['-a', 'jailnet/fj', '-f', '-'],
        `nat on em0 inet6 from fd89::/64 to any -> (em0)\nrdr pass on em0 inet6 proto tcp from any to (em0) port 8080 -> ${J6} port 80\n`,
      );
      expect(await tcp('fj', host.worldAddress6, 7105)).toMatchObject({ ok: true, reply: { peer: host.em0Address6 } });
      expect(await tcp('world', host.em0Address6, 8080)).toMatchObject({ ok: true, reply: { peer: host.worldAddress6, localPort: 80 } });
      expect((await pfOk(['-a', 'jailnet/fj', '-s', 'nat'])).stdout).toBe(
        `nat on em0 inet6 from fd89::/64 to any -> (em0) round-robin\nrdr pass on em0 inet6 proto tcp from any to (em0) port = http-alt -> ${J6} port 80\n`,
      );
    } finally {
      await srv.stop();
      await svc.stop();
    }
  });
});
