/**
 * The pf -> nftables compiler as a pure function: semantics asserted on the script (which
 * chains exist, where rules land, what they match), not snapshots. The packet tests in
 * test/emulator/pf-*.test.ts prove the same semantics with traffic.
 */
import { compileNft, emptyScript } from '../../../emulator/src/pf/compile-nft';
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

const compile = (st: PfState, filterLocal = false, host = HOST) => compileNft({ state: st, host, filterLocal });

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
    expect(emptyScript()).toBe('table inet pf {}\ndelete table inet pf\n');
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

  test('rdr rules reach the nat OUTPUT chain (local traffic, as if on lo0) only with filter_local=1', () => {
    const st = state({ '': 'rdr pass on em0 proto tcp to (em0) port 8080 -> 10.0.0.5 port 80\nrdr pass on lo0 proto tcp to (em0) port 8080 -> 10.0.0.5 port 80\nrdr pass proto tcp to port 9090 -> 10.0.0.6\nrdr pass on ! em0 proto tcp to port 9091 -> 10.0.0.7\n' });
    expect(compile(st, false)).not.toContain('nat_output');
    const s = compile(st, true);
    expect(chain(s, 'nat_output')).toEqual(['fib daddr type local jump rdrl_0']);
    const local = chain(s, 'rdrl_0').join('\n');
    expect(local).not.toContain('iifname');
    expect(local).toContain('tcp dport 8080');
    expect(local).toContain('dnat ip to 10.0.0.6');
    expect(local).toContain('dnat ip to 10.0.0.7');
    expect(local.split('\n')).toHaveLength(3);
    // set skip on lo0: pf ignores lo0 entirely.
    const skipped = state({ '': 'set skip on lo0\nrdr pass on lo0 proto tcp to (em0) port 8080 -> 10.0.0.5 port 80\n' });
    expect(compile(skipped, true)).not.toContain('nat_output');
    expect(chain(compile(skipped, true), 'filter_in')[0]).toBe('iifname { "lo" } accept');
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
      'iifname "em0" meta mark set meta mark & 0xfffffff0 | 0xff03',
      'iifname "em0" meta l4proto 6 tcp dport 22 accept',
      'meta l4proto 17 udp dport 9 meta mark set meta mark & 0xfffffff0 | 0xff04',
    ]);
    expect(chain(s, 'fout_0')).toEqual(['oifname "em0" meta l4proto != 6 meta mark set meta mark & 0xfffffff0 | 0xff01', 'oifname "em0" meta l4proto 6 tcp flags & (syn | ack) == syn meta mark set meta mark & 0xfffffff0 | 0xff01']);
    // States: established packets of kept connections pass first; rdr pass skips "in" filtering.
    expect(chain(s, 'filter_in').slice(0, 2)).toEqual(['ct state established,related ct mark & 0x2 == 0x2 accept', 'ct mark & 0x1 == 0x1 accept']);
    expect(chain(s, 'verdict_in')).toContain('meta mark & 0xf == 1 ct mark set ct mark | 0x2 accept');
  });

  test('a quick anchor ends the evaluation when a rule inside it matched', () => {
    const s = compile(state({ '': 'anchor "a" quick on em0\npass all\n', a: 'block in on em0 proto tcp to port 23\n' }));
    expect(chain(s, 'fin_0').slice(0, 3)).toEqual(['meta mark set meta mark & 0xfffffeff', 'iifname "em0" jump fin_1', 'meta mark & 0x100 == 0x100 jump verdict_in']);
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
