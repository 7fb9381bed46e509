/**
 * The emulated pfctl's parser and printer as pure functions: pf.conf text in, pfctl's
 * canonical `-s rules`/`-s nat` lines or its error messages out.
 */
import type { HostInfo } from '../../../emulator/src/pf/hosts';
import { parseRules } from '../../../emulator/src/pf/parser';
import { printRule, printTableEntry } from '../../../emulator/src/pf/print';

const HOST: HostInfo = {
  ifaces: [
    { name: 'em0', dev: 'em0', loopback: false, pointopoint: false, addrs: [{ af: 4, v: 0xc6336402n, prefix: 24, broadcast: 0xc63364ffn }, { af: 6, v: 0x20010db800e000000000000000000002n, prefix: 64 }] },
    { name: 'bridge0', dev: 'bridge0', loopback: false, pointopoint: false, addrs: [{ af: 4, v: 0x0a580001n, prefix: 16 }] },
    { name: 'lo0', dev: 'lo', loopback: true, pointopoint: false, addrs: [{ af: 4, v: 0x7f000001n, prefix: 8 }] },
  ],
  groups: { all: ['em0', 'bridge0', 'lo0'], bridge: ['bridge0'], lo: ['lo0'] },
};

function parse(text: string, anchor = '') {
  return parseRules(text, { anchor, filename: 'stdin', host: () => HOST });
}

/** Every rule of the target anchor in -s order: scrub/filter ("rules") then nat/rdr ("nat"). */
function printed(text: string, anchor = ''): string[] {
  const r = parse(text, anchor);
  expect(r.errors).toEqual([]);
  const rs = r.anchors[anchor]!.ruleset;
  return [...rs.nat, ...rs.rdr, ...rs.scrub, ...rs.filter].map((x) => printRule(x));
}

function errors(text: string): string[] {
  const r = parse(text);
  expect(r.failed).toBe(true);
  return r.errors;
}

describe('pf parser: canonical forms', () => {
  test.each([
    ['nat on em0 from 10.88.0.0/16 to any -> (em0)', 'nat on em0 inet from 10.88.0.0/16 to any -> (em0) round-robin'],
    ['nat on em0 inet from 10.88.0.0/16 -> (em0:0)', 'nat on em0 inet from 10.88.0.0/16 to any -> (em0:0)'],
    // parse.y's DYNIF_MULTIADDR: `(group:0)` may still be several addresses (several interfaces).
    ['nat on em0 inet from 10.88.0.0/16 -> (bridge:0)', 'nat on em0 inet from 10.88.0.0/16 to any -> (bridge:0) round-robin'],
    ['rdr pass on ! lo0 inet proto tcp to (em0) port 8080 tag jailnet_rdr -> 10.88.0.5 port 80', 'rdr pass on ! lo0 inet proto tcp from any to (em0) port = http-alt tag jailnet_rdr -> 10.88.0.5 port 80'],
    ['nat on bridge0 inet proto tcp from 10.88.0.0/16 to 10.88.0.5 port 80 tagged jailnet_rdr -> (bridge0:0)', 'nat on bridge0 inet proto tcp from 10.88.0.0/16 to 10.88.0.5 port = http tagged jailnet_rdr -> (bridge0:0)'],
    ['pass in on em0 tag A ! tagged B', 'pass in on em0 all flags S/SA keep state tag A ! tagged B'],
    ['nat on em0 from 10.88.0.0/16 to any -> 192.0.2.1 static-port', 'nat on em0 inet from 10.88.0.0/16 to any -> 192.0.2.1 static-port'],
    ['nat on em0 from 10.88.0.0/16 to any -> 192.0.2.1 port 1024:65535', 'nat on em0 inet from 10.88.0.0/16 to any -> 192.0.2.1 port 1024:65535'],
    ['nat on em0 from <jails> to any -> (em0)', 'nat on em0 from <jails> to any -> (em0) round-robin'],
    ['no nat on em0 from 10.88.1.0/24 to any', 'no nat on em0 inet from 10.88.1.0/24 to any'],
    ['nat pass on em0 from 10.0.0.0/8 -> { 192.0.2.1, 192.0.2.2 }', 'nat pass on em0 inet from 10.0.0.0/8 to any -> { 192.0.2.1, 192.0.2.2 } round-robin'],
    ['rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> 10.88.0.5 port 80', 'rdr pass on em0 inet proto tcp from any to (em0) port = http-alt -> 10.88.0.5 port 80'],
    ['rdr on em0 inet proto tcp to port 8000:8010 -> 10.88.0.5 port 8000:*', 'rdr on em0 inet proto tcp from any to any port 8000:8010 -> 10.88.0.5 port 8000:8010'],
    ['rdr on em0 proto tcp to port 9000:9010 -> 10.88.0.5 port 7000:7010', 'rdr on em0 inet proto tcp from any to any port 9000:9010 -> 10.88.0.5 port 7000:7010'],
    ['rdr on em0 proto udp to port 5353 -> <pool>', 'rdr on em0 proto udp from any to any port = mdns -> <pool> round-robin'],
    ['rdr pass proto tcp to self port 8080 -> 10.88.0.5', 'rdr pass inet proto tcp from any to 198.51.100.2 port = http-alt -> 10.88.0.5'],
    ['no rdr on em0 proto tcp from 192.0.2.0/24 to any port 22', 'no rdr on em0 inet proto tcp from 192.0.2.0/24 to any port = ssh'],
    ['nat-anchor "jailnet/*"', 'nat-anchor "jailnet/*" all'],
    ['rdr-anchor "jailnet/*"', 'rdr-anchor "jailnet/*" all'],
    ['anchor "jailnet/*"', 'anchor "jailnet/*" all'],
    ['anchor "x" in on em0 proto tcp', 'anchor "x" in on em0 proto tcp all'],
    ['pass in all', 'pass in all flags S/SA keep state'],
    ['pass out quick on em0 inet proto udp to port 53 no state', 'pass out quick on em0 inet proto udp from any to any port = domain no state'],
    ['pass in proto tcp to port > 1023 flags any', 'pass in proto tcp from any to any port > 1023 flags any keep state'],
    ['pass in proto tcp to port 1 >< 100', 'pass in proto tcp from any to any port 1 >< 100 flags S/SA keep state'],
    ['pass in proto tcp from port != 7 to port 6000 <> 6010 modulate state', 'pass in proto tcp from any port != echo to any port 6000 <> 6010 flags S/SA modulate state'],
    ['block in log quick on ! em0 from 10.0.0.0/8', 'block drop in log quick on ! em0 inet from 10.0.0.0/8 to any'],
    ['block return in proto tcp to port 25', 'block return in proto tcp from any to any port = smtp'],
    ['block return-rst in proto tcp', 'block return-rst in proto tcp all'],
    ['pass inet proto icmp icmp-type echoreq code 0', 'pass inet proto icmp all icmp-type echoreq code 0 keep state'],
    ['pass inet6 proto icmp6 icmp6-type { echoreq, neighbrsol }', 'pass inet6 proto ipv6-icmp all icmp6-type echoreq keep state'],
    ['pass from 10.1.2.3 - 10.1.2.9 to ! (bridge0:network)', 'pass inet from 10.1.2.3 - 10.1.2.9 to ! (bridge0:network) flags S/SA keep state'],
    ['pass in on em0 from any to em0:network', 'pass in on em0 inet from any to 198.51.100.0/24 flags S/SA keep state'],
    ['pass label "web" tag WEB', 'pass all flags S/SA keep state label "web" tag WEB'],
    ['scrub in all', 'scrub in all fragment reassemble'],
    ['pass in on em0 inet6 proto tcp to (em0) port 443', 'pass in on em0 inet6 proto tcp from any to (em0) port = https flags S/SA keep state'],
  ])('%s', (input, output) => {
    expect(printed(`${input}\n`)[0]).toBe(output);
  });

  test('lists expand into one rule per combination, with address families kept apart', () => {
    expect(printed('pass in on { em0 bridge0 } proto { tcp udp } from { 10.0.0.1, 2001:db8::1 } to port { 53 }\n')).toEqual([
      'pass in on em0 inet proto tcp from 10.0.0.1 to any port = domain flags S/SA keep state',
      'pass in on em0 inet6 proto tcp from 2001:db8::1 to any port = domain flags S/SA keep state',
      'pass in on em0 inet proto udp from 10.0.0.1 to any port = domain keep state',
      'pass in on em0 inet6 proto udp from 2001:db8::1 to any port = domain keep state',
      'pass in on bridge0 inet proto tcp from 10.0.0.1 to any port = domain flags S/SA keep state',
      'pass in on bridge0 inet6 proto tcp from 2001:db8::1 to any port = domain flags S/SA keep state',
      'pass in on bridge0 inet proto udp from 10.0.0.1 to any port = domain keep state',
      'pass in on bridge0 inet6 proto udp from 2001:db8::1 to any port = domain keep state',
    ]);
    // An interface name as an address is its addresses at load time (em0 has one of each family).
    expect(printed('pass in from em0\n')).toEqual(['pass in inet from 198.51.100.2 to any flags S/SA keep state', 'pass in inet6 from 2001:db8:e0::2 to any flags S/SA keep state']);
  });

  test('macros, continuation lines, comments, quoted strings', () => {
    const text = 'ext_if = "em0"\nweb = "{ 80 443 }"\n# comment\npass in on $ext_if proto tcp \\\n  to port $web # trailing\n';
    expect(printed(text)).toEqual(['pass in on em0 proto tcp from any to any port = http flags S/SA keep state', 'pass in on em0 proto tcp from any to any port = https flags S/SA keep state']);
  });

  test('tables: definitions with negations; names as references', () => {
    const r = parse('table <t> persist const { 10.0.0.0/8, !10.1.0.0/16, 2001:db8::/32 }\ntable <e> { }\npass from <t>\n');
    expect(r.errors).toEqual([]);
    const t = r.anchors['']!.tables.find((x) => x.name === 't')!;
    expect(t).toMatchObject({ persist: true, const: true });
    expect(t.entries.map(printTableEntry)).toEqual(['   10.0.0.0/8', '  !10.1.0.0/16', '   2001:db8::/32']);
  });

  test('anchors: relative paths, wildcards, inline rules', () => {
    const r = parse('anchor "sub/*"\nanchor "/abs"\nanchor "inl" {\n  pass in proto tcp to port 22\n  block in\n}\n', 'jailnet/x');
    expect(r.errors).toEqual([]);
    const f = r.anchors['jailnet/x']!.ruleset.filter;
    expect(f.map((x) => x.anchor)).toEqual([
      { call: 'sub/*', path: 'jailnet/x/sub', wildcard: true },
      { call: '/abs', path: 'abs', wildcard: false },
      { call: 'inl', path: 'jailnet/x/inl', wildcard: false },
    ]);
    expect(r.anchors['jailnet/x/inl']!.ruleset.filter.map((x) => printRule(x))).toEqual(['pass in proto tcp from any to any port = ssh flags S/SA keep state', 'block drop in all']);
  });

  test('options: skip, block-policy (which changes how later block rules print)', () => {
    const r = parse('set skip on { lo0 bridge0 }\nset block-policy return\nset optimization normal\nblock in all\n');
    expect(r.errors).toEqual([]);
    expect(r.options).toEqual({ skip: ['lo0', 'bridge0'], blockPolicy: 'return' });
    expect(printRule(r.anchors['']!.ruleset.filter[0]!)).toBe('block return in all');
  });
});

describe('pf parser: errors as pfctl reports them', () => {
  test.each([
    ['pass in proto tcp to port 99999', ['stdin:1: illegal port value 99999']],
    ['pass in proto tcp to port bogus', ['stdin:1: unknown port bogus']],
    ['pass in proto nosuch', ['stdin:1: unknown protocol nosuch']],
    ['nat on em0 from any to any', ["stdin:1: translation rule requires '-> address'"]],
    ['no nat on em0 from any to any -> 1.2.3.4', ["stdin:1: translation rule with 'no' does not need '->'"]],
    ['rdr pass log on em0 proto tcp to port 1 -> 10.0.0.1 static-port', ["stdin:1: the 'static-port' option is only valid with nat rules"]],
    ['pass in on $undefined', ["stdin:1: macro 'undefined' not defined", 'stdin:1: syntax error']],
    ['pass in from nohost', ['no IP address found for nohost', 'stdin:1: could not parse host specification']],
    ['pass in proto icmp to port 80', ['stdin:1: port only applies to tcp/udp', 'stdin:1: skipping rule due to errors', 'stdin:1: rule expands to no valid combination']],
    ['block in keep state', ["stdin:1: keep state on block rules doesn't make sense", 'stdin:1: skipping rule due to errors', 'stdin:1: rule expands to no valid combination']],
    ['table <t> bogus', ["stdin:1: invalid table option 'bogus'"]],
    ['table <t> { (em0) }', ['stdin:1: dynamic addresses are not permitted inside tables']],
    ['anchor', ['stdin:1: anchors without explicit rules must specify a name']],
    ['anchor "_x"', ["stdin:1: anchor names beginning with '_' are reserved for internal use"]],
    ['rdr pass on em0 proto tcp to port 80 -> 10.0.0.1 port 8080 random', []],
    ['pass in all\nnat on em0 from any -> (em0)', ['stdin:2: Rules must be in order: options, normalization, queueing, translation, filtering']],
    ['this is not pf', ['stdin:1: syntax error']],
    ['pass in on em0 inet6 from 10.0.0.1', ['stdin:1: rule expands to no valid combination']],
  ])('%s', (input, expected) => {
    const r = parse(`${input}\n`);
    if (expected.length === 0) expect(r.errors).toEqual([]);
    else expect(errors(`${input}\n`)).toEqual(expected);
  });

  test('errors on several lines are all reported, and the rest still parses', () => {
    const r = parse('pass in proto foo\npass in all\nnat on em0 from any\n');
    expect(r.errors).toEqual(['stdin:1: unknown protocol foo', 'stdin:3: Rules must be in order: options, normalization, queueing, translation, filtering']);
    expect(r.failed).toBe(true);
    expect(r.anchors['']!.ruleset.filter.map((x) => printRule(x))).toEqual(['pass in all flags S/SA keep state']);
  });
});
