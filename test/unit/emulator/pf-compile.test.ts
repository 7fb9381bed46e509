/**
 * The pf -> nftables compiler as a pure function: semantics asserted on the script (which
 * chains exist, where rules land, what they match), not snapshots. The packet tests in
 * test/emulator/pf-*.test.ts prove the same semantics with traffic.
 */
import { compileNft, DEFAULT_BRIDGE_SYSCTLS, emptyScript, hairpinPorts } from '../../../emulator/src/pf/compile-nft';
import type { HostInfo } from '../../../emulator/src/pf/hosts';
import { parseRules } from '../../../emulator/src/pf/parser';
import { anchorData, collectGarbage, initialState, type PfState } from '../../../emulator/src/pf/state';
import { addEntries, deleteEntries, effectiveRanges, replaceEntries, tableMatches } from '../../../emulator/src/pf/tables';
import { formatV6, parseV6 } from '../../../emulator/src/pf/addr';

const HOST: HostInfo = {
  ifaces: [
    { name: 'em0', dev: 'em0', loopback: false, pointopoint: false, addrs: [{ af: 4, v: 0xc6336402n, prefix: 24 }] },
    { name: 'bridge0', dev: 'bridge0', loopback: false, pointopoint: false, addrs: [{ af: 4, v: 0x0a580001n, prefix: 24 }] },
    { name: 'lo0', dev: 'lo', loopback: true, pointopoint: false, addrs: [{ af: 4, v: 0x7f000001n, prefix: 8 }] },
  ],
  groups: { all: ['em0', 'bridge0', 'lo0'], lo: ['lo0'], bridge: ['bridge0'] },
};

function state(loads: Record<string, string>, enabled = true): PfState {
  const st = initialState();
  st.enabled = enabled;
  for (const [anchor, text] of Object.entries(loads)) {
    const r = parseRules(text, { anchor, filename: 'stdin', host: () => HOST });
    expect(r.errors).toEqual([]);
    for (const [p, a] of Object.entries(r.anchors)) {
      const d = anchorData(st, p);
      d.ruleset = a.ruleset;
      for (const t of a.tables) d.tables[t.name] = t;
      if (p === '' && anchor === '') st.options = r.options;
    }
  }
  collectGarbage(st);
  return st;
}

/** Compiles `st` as `pfctl -e` would hook it with net.pf.filter_local = `filterLocal`. */
const compile = (st: PfState, filterLocal = false, host = HOST, bridge = DEFAULT_BRIDGE_SYSCTLS) => compileNft({ state: { ...st, filterLocal }, host, bridge });

/** The rules of one chain of the script. */
function chain(script: string, name: string): string[] {
  const m = new RegExp(`\\tchain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(script);
  if (!m) return [];
  return (m[1] as string)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('type '));
}

const HOOKS = 'nat-anchor "jailnet/*"\nrdr-anchor "jailnet/*"\nanchor "jailnet/*"\n';

describe('compiler: structure and anchors', () => {
  test('disabled pf, or no rules, compiles to removing the table', () => {
    expect(compile(state({ '': 'pass all\n' }, false))).toBe(emptyScript());
    expect(emptyScript()).toBe('table inet pf {}\ndelete table inet pf\ntable bridge pf {}\ndelete table bridge pf\n');
  });

  test('an anchor is reached only through a hook of the main ruleset', () => {
    const rules = { 'jailnet/a': 'nat on em0 inet from 10.88.0.2 to any -> (em0)\n' };
    const unhooked = compile(state({ '': 'pass all\n', ...rules }));
    expect(unhooked).not.toContain('snat');
    const hooked = compile(state({ '': HOOKS, ...rules }));
    expect(chain(hooked, 'nat_0')).toEqual(['jump nat_1']);
    expect(chain(hooked, 'nat_1')).toEqual([
      'oifname "em0" meta nfproto ipv4 ip saddr 10.88.0.2 meta l4proto { tcp, udp } ct mark set ct mark | 0x2 snat ip to 198.51.100.2:50001-65535',
      'oifname "em0" meta nfproto ipv4 ip saddr 10.88.0.2 ct mark set ct mark | 0x2 snat ip to 198.51.100.2',
    ]);
    // No rdr or filter rules in the anchor: no chain and no jump for those.
    expect(chain(hooked, 'rdr_0')).toEqual([]);
  });

  test('"x/*" jumps to the children of x in strcmp order and not to grandchildren', () => {
    const st = state({
      '': HOOKS,
      'jailnet/b': 'rdr on em0 proto tcp to port 2 -> 10.0.0.2\n',
      'jailnet/a': 'rdr on em0 proto tcp to port 1 -> 10.0.0.1\n',
      'jailnet/B': 'rdr on em0 proto tcp to port 3 -> 10.0.0.3\n',
      'jailnet/a/deep': 'rdr on em0 proto tcp to port 4 -> 10.0.0.4\n',
    });
    const s = compile(st);
    const jumps = chain(s, 'rdr_0');
    const dnats = jumps.map((j) => chain(s, (j.split(' ').pop() as string)).join('\n'));
    expect(dnats.map((x) => /dnat ip to (\S+)/.exec(x)?.[1])).toEqual(['10.0.0.3', '10.0.0.1', '10.0.0.2']);
    expect(s).not.toContain('10.0.0.4');
  });

  test('translation: nat matches the outgoing interface, rdr the incoming one; "no" rules stop', () => {
    const s = compile(state({ '': 'no nat on em0 from 10.88.0.9\nnat on em0 from 10.88.0.0/24 -> (em0) static-port\nno rdr on em0 proto tcp from 192.0.2.1\nrdr pass on em0 proto tcp to (em0) port 8080 -> 10.88.0.5 port 80\n' }));
    expect(chain(s, 'nat_0')).toEqual(['oifname "em0" meta nfproto ipv4 ip saddr 10.88.0.9 accept', 'oifname "em0" meta nfproto ipv4 ip saddr 10.88.0.0/24 ct mark set ct mark | 0x2 snat ip to 198.51.100.2']);
    expect(chain(s, 'rdr_0')).toEqual([
      'iifname "em0" meta nfproto ipv4 meta l4proto 6 ip saddr 192.0.2.1 accept',
      'iifname "em0" meta nfproto ipv4 meta l4proto 6 ip daddr { 198.51.100.2 } tcp dport 8080 ct mark set ct mark | 0x3 dnat ip to 10.88.0.5:80',
    ]);
  });

  test('rdr port mappings: keep, single, one-to-one range, shifted range', () => {
    const s = compile(
      state({
        '': 'rdr on em0 proto tcp to port 8000:8010 -> 10.0.0.5 port 8000:*\nrdr on em0 proto tcp to port 9000:9002 -> 10.0.0.5 port 7000:*\nrdr on em0 proto udp to port 53 -> 10.0.0.6\n',
      }),
    );
    expect(chain(s, 'rdr_0')).toEqual([
      'iifname "em0" meta nfproto ipv4 meta l4proto 6 tcp dport 8000-8010 ct mark set ct mark | 0x2 dnat ip to 10.0.0.5',
      'iifname "em0" meta nfproto ipv4 meta l4proto 6 tcp dport 9000-9002 ct mark set ct mark | 0x2 dnat ip to 10.0.0.5 : tcp dport map { 9000 : 7000, 9001 : 7001, 9002 : 7002 }',
      'iifname "em0" meta nfproto ipv4 meta l4proto 17 udp dport 53 ct mark set ct mark | 0x2 dnat ip to 10.0.0.6',
    ]);
  });

  test('the host\'s traffic to itself is "in on lo0": rdr rules that apply to lo0 redirect it at nat OUTPUT, filter_local or not', () => {
    const st = state({ '': 'rdr pass on em0 proto tcp to (em0) port 8080 -> 10.0.0.5 port 80\nrdr pass on lo0 proto tcp to (em0) port 8080 -> 10.0.0.5 port 80\nrdr pass proto tcp to port 9090 -> 10.0.0.6\nrdr pass on ! em0 proto tcp to port 9091 -> 10.0.0.7\nrdr pass on ! lo0 proto tcp to port 9092 -> 10.0.0.8\n' });
    for (const name of ['nat_output', 'rdrl_0']) expect(chain(compile(st, true), name)).toEqual(chain(compile(st, false), name));
    const s = compile(st);
    expect(chain(s, 'nat_output')).toEqual(['fib daddr type local jump rdrl_0']);
    const local = chain(s, 'rdrl_0').join('\n');
    expect(local).not.toContain('iifname');
    expect(local).toContain('tcp dport 8080');
    expect(local).toContain('dnat ip to 10.0.0.6');
    expect(local).toContain('dnat ip to 10.0.0.7');
    expect(local).not.toContain('10.0.0.8');
    expect(local.split('\n')).toHaveLength(3);
    expect(chain(s, 'rdr_0').filter((r) => r.includes('10.0.0.8'))).toEqual(['iifname != "lo" meta nfproto ipv4 meta l4proto 6 tcp dport 9092 ct mark set ct mark | 0x3 dnat ip to 10.0.0.8']);
    // set skip on lo0: pf ignores lo0 entirely.
    const skipped = state({ '': 'set skip on lo0\nrdr pass on lo0 proto tcp to (em0) port 8080 -> 10.0.0.5 port 80\n' });
    expect(compile(skipped, true)).not.toContain('nat_output');
    expect(chain(compile(skipped, true), 'filter_in')[0]).toBe('iifname { "lo" } accept');
  });

  test('source address validation: a packet for a local address with a local source that did not come on lo0 is dropped', () => {
    const s = compile(state({ '': 'pass all\n' }));
    expect(chain(s, 'source_check')).toEqual(['ct direction != reply iifname != "lo" fib daddr type local fib saddr type local drop']);
    expect(chain(s, 'source_check_reply')).toEqual(['ct direction reply iifname != "lo" fib daddr type local fib saddr type local drop']);
  });

  test('net.pf.filter_local (as hooked at pfctl -e): an "out on lo0" pass for locally delivered packets, nat and filter; no rdr', () => {
    const st = state({ '': 'nat on lo0 from 192.0.2.0/24 to any -> 127.0.0.1\nnat on em0 from 10.0.0.0/8 -> (em0)\nblock out on lo0 proto tcp to port 7\nblock out on em0 proto tcp to port 8\nblock in on lo0 proto tcp to port 9\n' });
    const off = compile(st, false);
    expect(off).not.toContain('nat_local');
    expect(off).not.toContain('filter_local');
    const on = compile(st, true);
    expect(chain(on, 'nat_local')).toEqual(['jump natl_0']);
    expect(chain(on, 'natl_0').join('\n')).toContain('snat ip to 127.0.0.1');
    expect(chain(on, 'natl_0').join('\n')).not.toContain('198.51.100.2');
    expect(chain(on, 'filter_local').slice(-2)).toEqual(['jump foutl_0', 'jump verdict_out']);
    expect(chain(on, 'foutl_0')).toEqual(['meta l4proto 6 tcp dport 7 meta mark set meta mark & 0xfffffff0 | 0xff3']);
    expect(on).toContain('type filter hook input priority 102');
  });

  test('(if) is resolved against the current addresses; none left: the translation drops', () => {
    const st = state({ '': 'nat on bridge0 from 10.88.0.0/24 to 10.88.0.3 port 80 -> (bridge0)\n' });
    expect(compile(st)).toContain('snat ip to 10.88.0.1');
    const noAddr: HostInfo = { ...HOST, ifaces: HOST.ifaces.map((i) => (i.name === 'bridge0' ? { ...i, addrs: [] } : i)) };
    expect(chain(compile(st, false, noAddr), 'nat_0')).toEqual(['oifname "bridge0" meta nfproto ipv4 ip saddr 10.88.0.0/24 ip daddr 10.88.0.3 meta l4proto { tcp, udp } th dport 80 drop']);
  });
});

describe('compiler: filter semantics', () => {
  test('non-quick rules record a decision (last match wins), quick rules decide at once', () => {
    const s = compile(state({ '': 'block in on em0\npass in quick on em0 proto tcp to port 22 no state\npass out on em0\nblock return in proto udp to port 9\n' }));
    expect(chain(s, 'fin_0')).toEqual([
      'iifname "em0" meta mark set meta mark & 0xfffffff0 | 0xff3',
      'iifname "em0" meta l4proto 6 tcp dport 22 accept',
      'meta l4proto 17 udp dport 9 meta mark set meta mark & 0xfffffff0 | 0xff4',
    ]);
    expect(chain(s, 'fout_0')).toEqual(['oifname "em0" meta l4proto != 6 meta mark set meta mark & 0xfffffff0 | 0xff1', 'oifname "em0" meta l4proto 6 tcp flags & (syn | ack) == syn meta mark set meta mark & 0xfffffff0 | 0xff1']);
    // States: established packets of kept connections pass first; rdr pass skips "in" filtering.
    expect(chain(s, 'filter_in').slice(0, 2)).toEqual(['ct state established,related ct mark & 0x2 == 0x2 accept', 'ct mark & 0x1 == 0x1 accept']);
    expect(chain(s, 'verdict_in')).toContain('meta mark & 0xf == 1 ct mark set ct mark | 0x2 accept');
  });

  test('a quick anchor ends the evaluation when a rule inside it matched', () => {
    const s = compile(state({ '': 'anchor "a" quick on em0\npass all\n', a: 'block in on em0 proto tcp to port 23\n' }));
    expect(chain(s, 'fin_0').slice(0, 3)).toEqual(['meta mark set meta mark & 0xffffffef', 'iifname "em0" jump fin_1', 'meta mark & 0x10 == 0x10 jump verdict_in']);
  });

  test('tables compile to interval sets with negations resolved; a rule in an anchor falls back to the main table', () => {
    const s = compile(state({ '': `${HOOKS}table <t> persist { 10.0.0.0/8, !10.1.0.0/16, 10.1.2.0/24 }\n`, 'jailnet/a': 'nat on em0 from <t> to any -> (em0)\n' }));
    expect(s).toContain('elements = { 10.0.0.0/16, 10.1.2.0/24, 10.2.0.0-10.255.255.255 }');
    expect(s).toContain('comment "/:<t>"');
    expect(s).toMatch(/ip saddr @t0_4/);
  });
});

describe('tables and addresses', () => {
  const e = (addr: string, prefix: number, neg = false) => ({ af: (addr.includes(':') ? 6 : 4) as 4 | 6, addr, prefix, neg });

  test('longest prefix decides membership; ranges merge', () => {
    const entries = [e('10.0.0.0', 8), e('10.1.0.0', 16, true), e('10.1.2.3', 32)];
    expect(tableMatches(entries, 4, 0x0a010203n)).toBe(true);
    expect(tableMatches(entries, 4, 0x0a010204n)).toBe(false);
    expect(tableMatches(entries, 4, 0x0a020000n)).toBe(true);
    expect(tableMatches(entries, 4, 0x0b000000n)).toBe(false);
    expect(effectiveRanges([e('10.0.0.0', 25), e('10.0.0.128', 25)], 4)).toEqual([{ lo: 0x0a000000n, hi: 0x0a0000ffn }]);
  });

  test('add, delete, replace count as the kernel does', () => {
    const a = addEntries([e('10.0.0.1', 32)], [e('10.0.0.1', 32), e('10.0.0.1', 32, true), e('10.0.0.2', 32)]);
    expect(a.added).toBe(1);
    expect(deleteEntries(a.entries, [e('10.0.0.1', 32, true), e('10.0.0.2', 32)]).deleted).toBe(1);
    expect(replaceEntries([e('10.0.0.1', 32), e('10.0.0.2', 32)], [e('10.0.0.2', 32, true), e('10.0.0.3', 32)])).toMatchObject({ added: 1, deleted: 1, changed: 1 });
  });

  test('IPv6 text as BSD inet_ntop writes it', () => {
    for (const [i, o] of [
      ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:0:0:1:1:0:0:1', '2001::1:1:0:0:1'],
      ['fe80::1%em0', 'fe80::1'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
      ['::', '::'],
      ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ] as const) {
      expect(formatV6(parseV6(i) as bigint)).toBe(o);
    }
  });
});

describe('compiler: tags', () => {
  test('tag writes an id into the packet mark (rdr, nat, no rdr, filter rules, anchor rules); tagged and ! tagged test it', () => {
    const s = compile(
      state({
        '': 'rdr on em0 proto tcp to (em0) port 80 tag WEB -> 10.0.0.5\nno rdr on em0 proto tcp from 192.0.2.1 tag NOPE\nnat on bridge0 from 10.88.0.0/24 to 10.88.0.5 tagged WEB -> (bridge0:0)\nnat on em0 from 10.88.0.0/24 ! tagged NOPE -> (em0)\npass in on em0 tag SEEN\npass out quick on em0 tagged SEEN\n',
      }),
    );
    // Ids by name: NOPE 1, SEEN 2, WEB 3.
    expect(chain(s, 'rdr_0')).toEqual([
      'iifname "em0" meta nfproto ipv4 meta l4proto 6 ip daddr { 198.51.100.2 } tcp dport 80 meta mark set meta mark & 0xff000fff | 0x3000 ct mark set ct mark | 0x2 dnat ip to 10.0.0.5',
      'iifname "em0" meta nfproto ipv4 meta l4proto 6 ip saddr 192.0.2.1 meta mark set meta mark & 0xff000fff | 0x1000 accept',
    ]);
    expect(chain(s, 'nat_0')[0]).toBe('oifname "bridge0" meta nfproto ipv4 ip saddr 10.88.0.0/24 ip daddr 10.88.0.5 meta mark & 0xfff000 == 0x3000 meta l4proto { tcp, udp } ct mark set ct mark | 0x2 snat ip to 10.88.0.1:50001-65535');
    expect(chain(s, 'nat_0')[2]).toContain('meta mark & 0xfff000 != 0x1000');
    // Sticky: a non-quick rule writes its tag with its decision; a quick one before its verdict.
    expect(chain(s, 'fin_0')[0]).toBe('iifname "em0" meta l4proto != 6 meta mark set meta mark & 0xff000ff0 | 0x2ff1');
    expect(chain(s, 'fout_0')[0]).toBe('oifname "em0" meta mark & 0xfff000 == 0x2000 meta l4proto != 6 ct mark set ct mark | 0x2 accept');
    // Passes reset their decision bits only: the tag stays with the packet.
    expect(chain(s, 'filter_in')).toContain('meta mark set meta mark & 0xfffff000');
  });
});

describe('compiler: bridged frames (if_bridge.c pfil_member, pfil_bridge)', () => {
  const BRIDGED: HostInfo = {
    ifaces: [
      ...HOST.ifaces.map((i) => (i.name === 'bridge0' ? { ...i, mac: '58:9c:fc:00:00:01' } : i)),
      { name: 'epair0a', dev: 'epair0a', loopback: false, pointopoint: false, addrs: [], mac: '02:00:00:00:00:0a', bridge: 'bridge0' },
      { name: 'epair1a', dev: 'epair1a', loopback: false, pointopoint: false, addrs: [], mac: '02:00:00:00:01:0a', bridge: 'bridge0' },
    ],
    groups: { ...HOST.groups, epair: ['epair0a', 'epair1a'] },
  };
  const rules = state({ '': 'nat on bridge0 from 10.88.0.0/24 to 10.88.0.3 -> (bridge0)\nblock in on epair0a proto tcp to port 81\nblock out on epair proto tcp to port 82\nblock in on bridge0 proto tcp to port 83\n' });
  const withSysctls = (b: Partial<typeof DEFAULT_BRIDGE_SYSCTLS>) => compile(rules, false, BRIDGED, { ...DEFAULT_BRIDGE_SYSCTLS, ...b });

  test('the bridge table marks member frames with a port id, bridged when not for one of the bridge\'s own addresses', () => {
    const s = withSysctls({});
    expect(chain(s, 'member_in')).toEqual([
      'iifname "epair0a" meta pkttype != { broadcast, multicast } ether daddr != { 02:00:00:00:00:0a, 02:00:00:00:01:0a, 58:9c:fc:00:00:01 } meta mark set meta mark & 0xffffff | 0x3000000 accept',
      'iifname "epair0a" meta mark set meta mark & 0xffffff | 0x2000000 accept',
      'iifname "epair1a" meta pkttype != { broadcast, multicast } ether daddr != { 02:00:00:00:00:0a, 02:00:00:00:01:0a, 58:9c:fc:00:00:01 } meta mark set meta mark & 0xffffff | 0x5000000 accept',
      'iifname "epair1a" meta mark set meta mark & 0xffffff | 0x4000000 accept',
    ]);
    // At the forward hook the port id becomes the outgoing member's; pfil_onlyip drops non-IP frames.
    expect(chain(s, 'member_forward')).toEqual([
      // Ports are in hairpin mode for bridged DNAT only: nothing else goes back out its port.
      'iifname "epair0a" oifname "epair0a" meta pkttype { broadcast, multicast } drop',
      'iifname "epair0a" oifname "epair0a" meta mark & 0x1000000 == 0x1000000 drop',
      'iifname "epair1a" oifname "epair1a" meta pkttype { broadcast, multicast } drop',
      'iifname "epair1a" oifname "epair1a" meta mark & 0x1000000 == 0x1000000 drop',
      'meta protocol != { ip, ip6, arp, 0x8035 } drop',
      'oifname "epair0a" meta mark set meta mark & 0x1ffffff | 0x2000000 accept',
      'oifname "epair1a" meta mark set meta mark & 0x1ffffff | 0x4000000 accept',
    ]);
    expect(s).toMatch(/^table bridge pf \{$/m);
    expect(compile(rules)).not.toMatch(/^table bridge pf \{$/m);
  });

  test('pfil_member: member passes in and out, interface conditions on the port id', () => {
    const s = withSysctls({});
    expect(chain(s, 'filter_member_in').slice(0, 2)).toEqual(['meta mark & 0x1000000 == 0 accept', 'meta mark & 0xfe000000 == 0 accept']);
    expect(chain(s, 'mfin_0')).toEqual(['meta mark & 0xfe000000 == 0x2000000 meta l4proto 6 tcp dport 81 meta mark set meta mark & 0xfffffff0 | 0xff3']);
    expect(chain(s, 'mfout_0')).toEqual(['meta mark & 0xfe000000 { 0x2000000, 0x4000000 } meta l4proto 6 tcp dport 82 meta mark set meta mark & 0xfffffff0 | 0xff3']);
    // The bridge passes keep the bridge's rules and see bridged frames too.
    expect(chain(s, 'fin_0')).toContain('iifname "bridge0" meta l4proto 6 tcp dport 83 meta mark set meta mark & 0xfffffff0 | 0xff3');
    expect(chain(s, 'filter_in')[0]).not.toContain('0x1000000');
    // pfil_local_phys: frames for the host itself get the member "in" pass as well.
    expect(chain(withSysctls({ localPhys: true }), 'filter_member_in')[0]).toBe('meta mark & 0xfe000000 == 0 accept');
    expect(withSysctls({ member: false })).not.toContain('filter_member_');
  });

  test('pfil_bridge=0: bridged frames skip the bridge passes (filter and translation); both 0: no pass at all', () => {
    const s = withSysctls({ bridge: false });
    for (const c of ['nat_prerouting', 'nat_postrouting', 'filter_in', 'filter_out']) expect(chain(s, c)[0]).toBe('meta mark & 0x1000000 == 0x1000000 accept');
    expect(s).toContain('filter_member_in');
    const none = withSysctls({ bridge: false, member: false });
    expect(none).not.toContain('filter_member_');
    expect(chain(none, 'filter_in')[0]).toBe('meta mark & 0x1000000 == 0x1000000 accept');
    expect(chain(none, 'member_forward')).not.toContain('meta protocol != { ip, ip6, arp, 0x8035 } drop');
    expect(hairpinPorts(BRIDGED)).toEqual(['epair0a', 'epair1a']);
  });
});

describe('compiler: (if) and (if:0)', () => {
  const TWO: HostInfo = { ...HOST, ifaces: HOST.ifaces.map((i) => (i.name === 'em0' ? { ...i, addrs: [...i.addrs, { af: 4, v: 0xc6336403n, prefix: 24 }] } : i)) };
  test('(em0) round-robins over every address, (em0:0) takes the first', () => {
    const s = compile(state({ '': 'nat on em0 from 10.0.0.1 to any -> (em0) static-port\nnat on em0 from 10.0.0.2 to any -> (em0:0) static-port\n' }), false, TWO);
    expect(chain(s, 'nat_0')).toEqual([
      'oifname "em0" meta nfproto ipv4 ip saddr 10.0.0.1 ct mark set ct mark | 0x2 snat ip to numgen inc mod 2 map { 0 : 198.51.100.2, 1 : 198.51.100.3 }',
      'oifname "em0" meta nfproto ipv4 ip saddr 10.0.0.2 ct mark set ct mark | 0x2 snat ip to 198.51.100.2',
    ]);
  });
});
