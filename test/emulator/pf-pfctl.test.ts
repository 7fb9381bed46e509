/**
 * The emulated pfctl's command line: FreeBSD's messages, output formats and exit statuses for
 * every form src/freebsd/pfctl.ts uses, plus enable/disable, flushes, kills, and the atomicity
 * of a load that does not parse.
 */
import { execFileSync } from 'node:child_process';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

const USAGE = `usage: pfctl [-AdeghMmNnOPqRSrvz] [-a anchor] [-D macro=value] [-F modifier]
	[-f file] [-i interface] [-K host | network]
	[-k host | network | gateway | label | id] [-o level] [-p device]
	[-s modifier] [-t table -T command [address ...]] [-x level]
`;

d('emulated pfctl: command line, outputs, errors', () => {
  let host: EmulatedHost;
  const pfctl = (args: string[], input?: string) => host.run('pfctl', args, input === undefined ? {} : { input });
  const nftRuleset = () => execFileSync('/usr/sbin/ip', ['netns', 'exec', host.hostNs, '/usr/sbin/nft', 'list', 'ruleset'], { encoding: 'utf8' });

  beforeAll(async () => {
    host = await createEmulatedHost();
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('starts disabled; -e / -d with FreeBSD\'s messages; -s info and -s Running', async () => {
    const info = await pfctl(['-s', 'info']);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^Status: Disabled for \d+ days \d\d:\d\d:\d\d {2,}Debug: Urgent\n\nState Table {26}Total {13}Rate\n {2}current entries +0 +\n/);
    expect(await pfctl(['-s', 'Running'])).toMatchObject({ code: 1, stdout: 'Disabled\n' });
    expect(await pfctl(['-d'])).toMatchObject({ code: 1, stderr: 'pfctl: pf not enabled\n' });
    expect(await pfctl(['-e'])).toMatchObject({ code: 0, stdout: '', stderr: 'pf enabled\n' });
    expect(await pfctl(['-e'])).toMatchObject({ code: 1, stderr: 'pfctl: pf already enabled\n' });
    expect((await pfctl(['-s', 'info'])).stdout).toMatch(/^Status: Enabled for 0 days 00:00:0\d/);
    expect(await pfctl(['-q', '-d'])).toMatchObject({ code: 0, stderr: '' });
    expect(await pfctl(['-d'])).toMatchObject({ code: 1 });
  });

  test('usage errors: unknown flags, missing arguments, bad modifiers, anchors without a command', async () => {
    expect(await pfctl([])).toEqual({ code: 1, stdout: '', stderr: USAGE });
    expect(await pfctl(['-Z'])).toEqual({ code: 1, stdout: '', stderr: `pfctl: illegal option -- Z\n${USAGE}` });
    expect(await pfctl(['-a'])).toEqual({ code: 1, stdout: '', stderr: `pfctl: option requires an argument -- a\n${USAGE}` });
    expect(await pfctl(['-s', 'bogus'])).toEqual({ code: 1, stdout: '', stderr: `pfctl: Unknown show modifier 'bogus'\n${USAGE}` });
    expect(await pfctl(['-F', 'bogus'])).toEqual({ code: 1, stdout: '', stderr: `pfctl: Unknown flush modifier 'bogus'\n${USAGE}` });
    expect(await pfctl(['-a', 'jailnet/x'])).toEqual({ code: 1, stdout: '', stderr: `pfctl: anchors apply to -f, -F, -s, and -T only\n${USAGE}` });
    expect(await pfctl(['-t', 'x'])).toEqual({ code: 1, stdout: '', stderr: USAGE });
    expect(await pfctl(['-a', '', '-s', 'rules'])).toMatchObject({ code: 1, stderr: 'pfctl: anchor name must not be empty\n' });
    expect(await pfctl(['-a', '_x', '-f', '-'], 'pass all\n')).toMatchObject({ code: 1, stderr: "pfctl: anchor names beginning with '_' cannot be modified from the command line\n" });
    expect(await pfctl(['-s', 'rules', 'extra'])).toEqual({ code: 1, stdout: '', stderr: `pfctl: unknown command line argument: extra ...\n${USAGE}` });
  });

  test('canonical -s nat / -s rules forms, hooks in the main ruleset, anchors listed', async () => {
    const main = 'ext_if = "em0"\nset skip on lo0\nnat-anchor "jailnet/*"\nrdr-anchor "jailnet/*"\nanchor "jailnet/*"\npass in all\npass out all keep state\n';
    expect(await pfctl(['-f', '-'], main)).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect((await pfctl(['-s', 'nat'])).stdout).toBe('nat-anchor "jailnet/*" all\nrdr-anchor "jailnet/*" all\n');
    expect((await pfctl(['-s', 'rules'])).stdout).toBe('anchor "jailnet/*" all\npass in all flags S/SA keep state\npass out all flags S/SA keep state\n');
    const rules =
      'table <jailnet-web> persist { 10.88.0.0/16 }\n' +
      'nat on em0 inet from 10.88.0.0/16 to any -> (em0)\n' +
      'rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> 10.88.0.5 port 80\n' +
      'rdr on em0 inet proto tcp from any to any port 8000:8010 -> 10.88.0.5 port 8000:*\n' +
      'rdr on em0 inet proto { tcp udp } from any to (em0) port 53 -> 10.88.0.6\n';
    expect(await pfctl(['-a', 'jailnet/web', '-f', '-'], rules)).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect((await pfctl(['-a', 'jailnet/web', '-s', 'nat'])).stdout).toBe(
      'nat on em0 inet from 10.88.0.0/16 to any -> (em0) round-robin\n' +
        'rdr pass on em0 inet proto tcp from any to (em0) port = http-alt -> 10.88.0.5 port 80\n' +
        'rdr on em0 inet proto tcp from any to any port 8000:8010 -> 10.88.0.5 port 8000:8010\n' +
        'rdr on em0 inet proto tcp from any to (em0) port = domain -> 10.88.0.6\n' +
        'rdr on em0 inet proto udp from any to (em0) port = domain -> 10.88.0.6\n',
    );
    // -P prints ports as numbers.
    expect((await pfctl(['-a', 'jailnet/web', '-P', '-s', 'nat'])).stdout).toContain('port = 8080 -> 10.88.0.5 port 80\n');
    expect((await pfctl(['-a', 'jailnet/web', '-s', 'rules'])).stdout).toBe('');
    expect((await pfctl(['-a', 'jailnet/web', '-s', 'Tables'])).stdout).toBe('jailnet-web\n');
    expect((await pfctl(['-a', 'jailnet/web', '-v', '-s', 'Tables'])).stdout).toBe('-pa----\tjailnet-web\tjailnet/web\n');
    await pfctl(['-a', 'jailnet/db', '-f', '-'], 'rdr pass on em0 inet proto tcp from any to (em0) port 5432 -> 10.88.0.7\n');
    expect((await pfctl(['-s', 'Anchors'])).stdout).toBe('  jailnet\n  jailnet/db\n  jailnet/web\n');
    expect((await pfctl(['-a', 'jailnet/*', '-s', 'Anchors'])).stdout).toBe('  jailnet/db\n  jailnet/web\n');
    expect((await pfctl(['-a', 'jailnet', '-s', 'Anchors'])).stdout).toBe('  jailnet/db\n  jailnet/web\n');
    // With -a 'x/*' the anchor rules of the main ruleset are shown with their children.
    await pfctl(['-e']);
    expect((await pfctl(['-a', '*', '-s', 'nat'])).stdout).toBe(
      'nat-anchor "jailnet/*" all {\n' +
        '  nat-anchor "db" all {\n' +
        '    rdr pass on em0 inet proto tcp from any to (em0) port = postgresql -> 10.88.0.7\n' +
        '  }\n' +
        '  nat-anchor "web" all {\n' +
        '    nat on em0 inet from 10.88.0.0/16 to any -> (em0) round-robin\n' +
        '    rdr pass on em0 inet proto tcp from any to (em0) port = http-alt -> 10.88.0.5 port 80\n' +
        '    rdr on em0 inet proto tcp from any to any port 8000:8010 -> 10.88.0.5 port 8000:8010\n' +
        '    rdr on em0 inet proto tcp from any to (em0) port = domain -> 10.88.0.6\n' +
        '    rdr on em0 inet proto udp from any to (em0) port = domain -> 10.88.0.6\n' +
        '  }\n' +
        '}\n' +
        // pfctl_show_nat names every wildcard child "nat-anchor" and lists all its translation rules
        'rdr-anchor "jailnet/*" all {\n' +
        '  nat-anchor "db" all {\n' +
        '    rdr pass on em0 inet proto tcp from any to (em0) port = postgresql -> 10.88.0.7\n' +
        '  }\n' +
        '  nat-anchor "web" all {\n' +
        '    nat on em0 inet from 10.88.0.0/16 to any -> (em0) round-robin\n' +
        '    rdr pass on em0 inet proto tcp from any to (em0) port = http-alt -> 10.88.0.5 port 80\n' +
        '    rdr on em0 inet proto tcp from any to any port 8000:8010 -> 10.88.0.5 port 8000:8010\n' +
        '    rdr on em0 inet proto tcp from any to (em0) port = domain -> 10.88.0.6\n' +
        '    rdr on em0 inet proto udp from any to (em0) port = domain -> 10.88.0.6\n' +
        '  }\n' +
        '}\n',
    );
    expect(nftRuleset()).toContain('dnat ip to 10.88.0.7');
    await pfctl(['-d']);
    expect(nftRuleset()).not.toContain('table inet pf');
    await pfctl(['-a', 'jailnet/*', '-F', 'all']);
    await pfctl(['-F', 'all']);
  });

  test('a syntax error loads nothing: FreeBSD\'s messages, exit 1, the anchor keeps its old rules', async () => {
    expect(await pfctl(['-a', 'jailnet/atomic', '-f', '-'], 'nat on em0 inet from 10.1.0.0/16 to any -> (em0)\n')).toMatchObject({ code: 0 });
    const bad = 'nat on em0 inet from 10.2.0.0/16 to any -> (em0)\nrdr on em0 proto tcp to port 99999 -> 10.2.0.5\nthis is not pf\nnat on em0 from any to any\n';
    expect(await pfctl(['-a', 'jailnet/atomic', '-f', '-'], bad)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'stdin:2: illegal port value 99999\nstdin:3: syntax error\nstdin:4: translation rule requires \'-> address\'\npfctl: Syntax error in config file: pf rules not loaded\n',
    });
    expect((await pfctl(['-a', 'jailnet/atomic', '-s', 'nat'])).stdout).toBe('nat on em0 inet from 10.1.0.0/16 to any -> (em0) round-robin\n');
    // -n: parse only, errors without the "not loaded" line; -nv prints the parsed rules.
    expect(await pfctl(['-n', '-f', '-'], 'pass in proto foo\n')).toEqual({ code: 1, stdout: '', stderr: 'stdin:1: unknown protocol foo\n' });
    expect(await pfctl(['-nv', '-a', 'jailnet/atomic', '-f', '-'], 'pass in on em0 proto tcp to port { 22 80 }\n')).toEqual({
      code: 0,
      stdout: 'pass in on em0 proto tcp from any to any port = ssh flags S/SA keep state\npass in on em0 proto tcp from any to any port = http flags S/SA keep state\n',
      stderr: '',
    });
    expect((await pfctl(['-a', 'jailnet/atomic', '-s', 'rules'])).stdout).toBe('');
    // A file that does not exist.
    expect(await pfctl(['-f', '/nonexistent/pf.conf'])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'pfctl: /nonexistent/pf.conf: No such file or directory\npfctl: cannot open the main config file!: No such file or directory\npfctl: Syntax error in config file: pf rules not loaded\n',
    });
    await pfctl(['-a', 'jailnet/atomic', '-F', 'all']);
  });

  test('unknown anchors and tables: the messages src/freebsd/errors.ts classifies as missing', async () => {
    expect(await pfctl(['-a', 'jailnet/nope', '-s', 'rules'])).toEqual({ code: 0, stdout: '', stderr: 'pfctl: Anchor does not exist\n' });
    expect(await pfctl(['-a', 'jailnet/nope', '-s', 'nat'])).toEqual({ code: 0, stdout: '', stderr: 'pfctl: DIOCGETRULES: Invalid argument\n' });
    expect(await pfctl(['-a', 'jailnet/nope', '-s', 'Anchors'])).toEqual({ code: 0, stdout: '', stderr: "Anchor 'jailnet/nope' not found.\n" });
    expect(await pfctl(['-a', 'jailnet/nope', '-s', 'Tables'])).toEqual({ code: 1, stdout: '', stderr: 'pfctl: Anchor or Ruleset does not exist.\n' });
    expect(await pfctl(['-a', 'jailnet/nope', '-F', 'all'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Ethernet rules cleared\nrules cleared\nnat cleared\npfctl: Anchor does not exist.\n',
    });
    expect(await pfctl(['-a', 'jailnet/nope', '-t', 't', '-T', 'show'])).toEqual({ code: 255, stdout: '', stderr: 'pfctl: Table does not exist.\n' });
    expect(await pfctl(['-a', 'jailnet/nope', '-t', 't', '-T', 'delete', '10.0.0.1'])).toMatchObject({ code: 255, stderr: 'pfctl: Table does not exist.\n' });
    expect(await pfctl(['-a', 'jailnet/nope', '-t', 't', '-T', 'flush'])).toMatchObject({ code: 255, stderr: 'pfctl: Table does not exist.\n' });
    expect(await pfctl(['-a', 'jailnet/nope', '-t', 't', '-T', 'add', 'not-an-address'])).toEqual({ code: 255, stdout: '', stderr: 'no IP address found for not-an-address\n' });
    expect(await pfctl(['-t', 'a-table-name-that-is-far-too-long', '-T', 'show'])).toEqual({ code: 1, stdout: '', stderr: USAGE });
  });

  test('tables: add creates a persistent table; messages and counts as FreeBSD prints them', async () => {
    expect(await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'add', '10.0.0.1', '10.0.0.0/8', 'fd00::/64'])).toEqual({
      code: 0,
      stdout: '',
      stderr: '1 table created.\n3/3 addresses added.\n',
    });
    expect((await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'add', '10.0.0.1'])).stderr).toBe('0/1 addresses added.\n');
    expect((await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'show'])).stdout).toBe('   10.0.0.0/8\n   10.0.0.1\n   fd00::/64\n');
    expect(await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'test', '10.1.2.3'])).toEqual({ code: 0, stdout: '', stderr: '1/1 addresses match.\n' });
    expect(await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'test', '192.0.2.1'])).toEqual({ code: 2, stdout: '', stderr: '0/1 addresses match.\n' });
    expect((await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'replace', '10.0.0.1', '192.0.2.0/24'])).stderr).toBe('1 addresses added.\n2 addresses deleted.\n');
    expect((await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'replace', '10.0.0.1', '192.0.2.0/24'])).stderr).toBe('no changes.\n');
    // Interface names with pf's modifiers stand for the interface's addresses.
    expect((await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'add', 'em0:network'])).stderr).toBe('2/2 addresses added.\n'); // its IPv4 and IPv6 networks
    expect((await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'test', host.em0Address])).code).toBe(0);
    expect(await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'add', 'em0:bogus'])).toEqual({ code: 255, stdout: '', stderr: 'no IP address found for em0:bogus\n' });
    expect((await pfctl(['-a', 'jailnet/t', '-s', 'Tables'])).stdout).toBe('nets\n');
    expect((await pfctl(['-a', 'jailnet/t', '-q', '-t', 'nets', '-T', 'flush'])).stderr).toBe('');
    expect((await pfctl(['-a', 'jailnet/t', '-t', 'nets', '-T', 'kill'])).stderr).toBe('1 table deleted.\n');
    expect((await pfctl(['-s', 'Anchors'])).stdout).not.toContain('jailnet/t');
    // A table used by a rule but never defined exists only once addresses are added to it.
    await pfctl(['-a', 'jailnet/u', '-f', '-'], 'nat on em0 inet from <members> to any -> (em0)\n');
    expect((await pfctl(['-a', 'jailnet/u', '-s', 'Tables'])).stdout).toBe('');
    expect((await pfctl(['-a', 'jailnet/u', '-t', 'members', '-T', 'add', '10.3.0.2'])).stderr).toBe('1 table created.\n1/1 addresses added.\n');
    // A non-persistent table no rule uses does not survive the load.
    await pfctl(['-a', 'jailnet/u', '-f', '-'], 'table <unused> { 10.9.9.9 }\n');
    expect((await pfctl(['-a', 'jailnet/u', '-s', 'Tables'])).stdout).toBe('members\n');
    expect((await pfctl(['-a', 'jailnet/u', '-F', 'all'])).stderr).toBe('Ethernet rules cleared\nrules cleared\nnat cleared\n1 tables deleted.\n');
  });

  test('a table defined in a loaded ruleset: with an address list it holds exactly the list, an existing table too; without one it keeps its addresses', async () => {
    // sys/netpfil/pf/pf_table.c pfr_commit_ktable; parse.y table_opt (init_addr), pfctl_define_table.
    const show = async () => (await pfctl(['-a', 'jailnet/d', '-t', 'masq', '-T', 'show'])).stdout;
    const rule = 'nat on em0 inet from <masq> to any -> (em0:0)\n';
    expect((await pfctl(['-a', 'jailnet/d', '-t', 'masq', '-T', 'add', '10.4.0.2', '10.4.0.3'])).stderr).toBe('1 table created.\n2/2 addresses added.\n');
    // Rule and members in one load: 10.4.0.2 (not listed) leaves, 10.4.0.4 (listed twice) comes once.
    expect(await pfctl(['-a', 'jailnet/d', '-f', '-'], `table <masq> persist { 10.4.0.3 10.4.0.4 10.4.0.4 }\n${rule}`)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await show()).toBe('   10.4.0.3\n   10.4.0.4\n');
    expect((await pfctl(['-a', 'jailnet/d', '-s', 'nat'])).stdout).toBe(rule);
    await pfctl(['-a', 'jailnet/d', '-f', '-'], `table <masq> persist\n${rule}`);
    expect(await show()).toBe('   10.4.0.3\n   10.4.0.4\n');
    await pfctl(['-a', 'jailnet/d', '-f', '-'], `table <masq> persist { }\n${rule}`);
    expect(await show()).toBe('');
    // A new table gets the list; -nv prints `{ }` only for a definition with a list (print_tabledef).
    await pfctl(['-a', 'jailnet/d', '-F', 'all']);
    await pfctl(['-a', 'jailnet/d', '-f', '-'], `table <masq> persist { 10.4.0.5 }\n${rule}`);
    expect(await show()).toBe('   10.4.0.5\n');
    expect((await pfctl(['-nv', '-a', 'jailnet/d', '-f', '-'], 'table <a> persist\ntable <b> persist { }\n')).stdout).toBe('table <a> persist\ntable <b> persist { }\n');
    await pfctl(['-a', 'jailnet/d', '-F', 'all']);
  });

  test('-k kills the states from a host (conntrack entries in the host namespace)', async () => {
    const srv = await host.startWorldServer({ proto: 'udp', port: 7201 });
    try {
      // States exist while pf is enabled and keeps state (as on FreeBSD).
      await pfctl(['-f', '-'], 'pass all\n');
      await pfctl(['-e']);
      await host.request('host', { proto: 'udp', address: host.worldAddress, port: 7201 });
      const before = await pfctl(['-s', 'states']);
      expect(before.stdout).toContain(`all udp ${host.em0Address}:`);
      expect(before.stdout).toContain(`-> ${host.worldAddress}:7201       MULTIPLE:MULTIPLE\n`);
      expect(await pfctl(['-k', '192.0.2.99'])).toEqual({ code: 0, stdout: '', stderr: 'killed 0 states from 1 sources and 0 destinations\n' });
      const k = await pfctl(['-k', host.em0Address, '-k', host.worldAddress]);
      expect(k.stderr).toMatch(/^killed [1-9]\d* states from 1 sources and 1 destinations\n$/);
      expect((await pfctl(['-s', 'states'])).stdout).not.toContain(`-> ${host.worldAddress}:7201`);
      expect(await pfctl(['-k', 'not-a-host'])).toMatchObject({ code: 1, stderr: 'pfctl: getaddrinfo: hostname nor servname provided, or not known\n' });
    } finally {
      await pfctl(['-F', 'all']);
      await pfctl(['-d']);
      await srv.stop();
    }
  });
});
