/**
 * The emulated pf and bridged frames, with real packets: two jails on one bridge talk to each
 * other directly (bridged, not routed), and pf runs on the member and on the bridge as
 * net.link.bridge.pfil_member / pfil_bridge say (sys/net/if_bridge.c, bridge_pfil); tags set
 * by translation and filter rules are seen by later rules and passes.
 */
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

d('emulated pf: bridged frames and tags', () => {
  let host: EmulatedHost;
  const J1 = '10.87.0.2';
  const J2 = '10.87.0.3';
  const GW = '10.87.0.1';
  /** The host end (bridge member) of each jail's epair. */
  const member: Record<string, string> = {};

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
  const pfil = (memberOn: 0 | 1, bridgeOn: 0 | 1) => host.runOk('sysctl', [`net.link.bridge.pfil_member=${memberOn}`, `net.link.bridge.pfil_bridge=${bridgeOn}`]);
  const tcp = (from: string, address: string, port: number) => host.request(from, { proto: 'tcp', address, port, timeoutMs: 1200 });
  const TIMEOUT = { ok: false, error: 'timeout after 1200 ms' };
  const REFUSED = { ok: false, error: 'ECONNREFUSED' };

  beforeAll(async () => {
    host = await createEmulatedHost();
    await host.runOk('ifconfig', ['bridge', 'create']);
    await host.runOk('ifconfig', ['bridge0', 'inet', `${GW}/24`, 'up']);
    for (const [jail, addr] of [
      ['b1', J1],
      ['b2', J2],
    ] as const) {
      await host.createJail(jail);
      const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
      const b = a.replace(/a$/, 'b');
      member[jail] = a;
      await host.runOk('ifconfig', ['bridge0', 'addm', a]);
      await host.runOk('ifconfig', [a, 'up']);
      await host.runOk('ifconfig', [b, 'vnet', jail]);
      await host.runOk('ifconfig', ['-j', jail, b, 'inet', `${addr}/24`]);
      await host.runOk('route', ['-j', jail, '-4', 'add', 'default', GW]);
    }
    await host.runOk('sysctl', ['net.inet.ip.forwarding=1']);
    await host.startJailServer('b2', { proto: 'tcp', port: 80 });
  }, 60_000);

  afterAll(async () => {
    await host?.destroy();
  });

  afterEach(async () => {
    await pfctl(['-a', 'jailnet/*', '-F', 'all']);
    await pfctl(['-F', 'all']);
    await pfctl(['-d']);
    await pfil(1, 1);
    await host.runOk('sysctl', ['net.link.bridge.pfil_local_phys=0']);
  });

  test('filter rules on the member see bridged frames with pfil_member=1, rules on the bridge with pfil_bridge=1, none with both 0', async () => {
    await main('pass all\n');
    expect(await tcp('b1', J2, 80)).toMatchObject({ ok: true, reply: { peer: J1 } });
    // In on b1's member; in and out on the bridge; out on b2's member.
    const rules = [
      [`block return in on ${member.b1} inet proto tcp from any to ${J2} port 80`, 'member'],
      [`block return out on ${member.b2} inet proto tcp from any to ${J2} port 80`, 'member'],
      [`block return in on bridge0 inet proto tcp from any to ${J2} port 80`, 'bridge'],
      ['block drop out on bridge0 inet proto tcp from any to any port 80', 'bridge'],
    ] as const;
    for (const [rule, knob] of rules) {
      await main(`pass all\n${rule}\n`);
      // Refused where pf answers with a reset ("in"), timed out where it drops ("out").
      const blocked = rule.includes(' in on ') ? REFUSED : TIMEOUT;
      await pfil(1, 1);
      expect([rule, await tcp('b1', J2, 80)]).toMatchObject([rule, blocked]);
      await pfil(knob === 'member' ? 0 : 1, knob === 'bridge' ? 0 : 1);
      expect([rule, await tcp('b1', J2, 80)]).toMatchObject([rule, { ok: true, reply: { peer: J1 } }]);
      await pfil(knob === 'member' ? 1 : 0, knob === 'bridge' ? 1 : 0);
      expect([rule, await tcp('b1', J2, 80)]).toMatchObject([rule, blocked]);
    }
    // Both 0: pf sees no bridged frame at all.
    await main(`block all\n`);
    expect(await tcp('b1', J2, 80)).toMatchObject(TIMEOUT);
    await pfil(0, 0);
    expect(await tcp('b1', J2, 80)).toMatchObject({ ok: true, reply: { peer: J1 } });
    // Frames for the host itself get no member pass (pfil_local_phys=0): routed traffic to
    // the gateway is seen on bridge0 only.
    await pfil(1, 1);
    await main(`block in on ${member.b1} all\n`);
    expect((await host.jexec('b1', ['/usr/bin/ping', '-c', '1', '-W', '1', GW])).code).toBe(0);
    expect(await tcp('b1', J2, 80)).toMatchObject(TIMEOUT);
    // pfil_local_phys=1: they get the member's "in" pass too.
    await host.runOk('sysctl', ['net.link.bridge.pfil_local_phys=1']);
    expect((await host.jexec('b1', ['/usr/bin/ping', '-c', '1', '-W', '1', GW])).code).not.toBe(0);
    await host.runOk('sysctl', ['net.link.bridge.pfil_local_phys=0']);
    expect((await host.jexec('b1', ['/usr/bin/ping', '-c', '1', '-W', '1', GW])).code).toBe(0);
  });

  test('`nat on bridge0` translates a bridged connection while pf runs on the bridge', async () => {
    await main(`nat on bridge0 inet from 10.87.0.0/24 to ${J2} port 80 -> (bridge0)\n`);
    expect(await tcp('b1', J2, 80)).toMatchObject({ ok: true, reply: { peer: GW, local: J2 } });
    await pfil(1, 0);
    expect(await tcp('b1', J2, 80)).toMatchObject({ ok: true, reply: { peer: J1 } });
  });

  test('tag on rdr, tagged on nat: a redirected connection is translated on the bridge, a direct one keeps its source', async () => {
    await main(
      `rdr pass on ! lo0 inet proto tcp from any to (em0) port 8080 tag REDIRECTED -> ${J2} port 80\n` +
        `nat on bridge0 inet from 10.87.0.0/24 to ${J2} port 80 tagged REDIRECTED -> (bridge0:0)\n`,
    );
    expect(await tcp('b1', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, local: J2, localPort: 80 } });
    expect(await tcp('b1', J2, 80)).toMatchObject({ ok: true, reply: { peer: J1 } });
    expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: host.worldAddress } });
    // `! tagged`: the other way round.
    await main(`rdr pass on ! lo0 inet proto tcp from any to (em0) port 8080 tag REDIRECTED -> ${J2} port 80\nnat on bridge0 inet from 10.87.0.0/24 to ${J2} port 80 ! tagged REDIRECTED -> (bridge0:0)\n`);
    expect(await tcp('b1', J2, 80)).toMatchObject({ ok: true, reply: { peer: GW } });
    expect((await pfOk(['-s', 'nat'])).stdout).toBe(
      `nat on bridge0 inet from 10.87.0.0/24 to ${J2} port = http ! tagged REDIRECTED -> (bridge0:0)\n` +
        `rdr pass on ! lo0 inet proto tcp from any to (em0) port = http-alt tag REDIRECTED -> ${J2} port 80\n`,
    );
  });

  test('a filter rule\'s tag is sticky (set even when a later rule decides) and later passes see it', async () => {
    const rdr = `rdr on em0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\n`;
    const outCheck = `block drop out on bridge0 inet proto tcp from any to ${J2} port 80 ! tagged FROM_WORLD\n`;
    await main(`${rdr}pass in on em0 inet proto tcp from any to ${J2} port 80 tag FROM_WORLD\nblock in on em0 inet proto tcp from any to ${J2} port 80\npass in on em0 inet proto tcp from any to ${J2} port 80\n${outCheck}`);
    expect(await tcp('world', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { local: J2 } });
    // Untagged traffic to the same service is dropped by the out rule: from another jail
    // (bridged) and from the host.
    expect(await tcp('b1', J2, 80)).toMatchObject(TIMEOUT);
    expect(await tcp('host', J2, 80)).toMatchObject(TIMEOUT);
    // Without the tagging rule the world's connection is dropped too.
    await main(`${rdr}pass in on em0 inet proto tcp from any to ${J2} port 80\n${outCheck}`);
    expect(await tcp('world', host.em0Address, 8080)).toMatchObject(TIMEOUT);
  });

  test('a jail reaches itself through the host\'s address (FreeBSD routes the redirected packet back out its member)', async () => {
    await main(`rdr pass on bridge0 inet proto tcp from any to (em0) port 8080 -> ${J2} port 80\nnat on bridge0 inet from 10.87.0.0/24 to ${J2} port 80 -> (bridge0:0)\n`);
    expect(await tcp('b2', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, local: J2 } });
    expect(await tcp('b1', host.em0Address, 8080)).toMatchObject({ ok: true, reply: { peer: GW, local: J2 } });
    // Without pf nothing on the bridge is left changed for it (Linux's hairpin mode is off).
    await pfOk(['-d']);
    const ports = JSON.parse((await host.hostExec(['/usr/sbin/ip', '-d', '-j', 'link', 'show', 'master', 'bridge0'])).stdout) as Array<{ linkinfo: { info_slave_data: { hairpin: boolean } } }>;
    expect(ports.map((p) => p.linkinfo.info_slave_data.hairpin)).toEqual([false, false]);
  });
});
