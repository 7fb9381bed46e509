/**
 * The FreeBSD output corpus (test/fixtures/freebsd/) through the product's parsers and error
 * classifiers: every sample that jailnet reads is parsed here and its values asserted.
 */
import { CommandError } from '../../../src/freebsd/exec';
import { isJailNotFound, isNoSuchInterface, isPfObjectMissing, isUnknownFlag } from '../../../src/freebsd/errors';
import { isToolMissingInJail } from '../../../src/freebsd/jail-exec';
import { parseCreatedName, parseGroupMembers, parseIfconfig, parseInterfaceList, type InterfaceInfo } from '../../../src/freebsd/parse/ifconfig';
import { parseJlsJidNameVnet } from '../../../src/freebsd/parse/jls';
import { parseAnchors, parsePfEnabled, parseRules, parseTableAddresses, parseTableChanges, parseTables } from '../../../src/freebsd/parse/pfctl';
import { isRouteExists, isRouteMissing, parseRouteGet } from '../../../src/freebsd/parse/route';
import { isUnknownOid, parseSysctlSet, parseSysctlValue } from '../../../src/freebsd/parse/sysctl';
import { corpusNames, corpusSample, type CorpusSample } from '../../helpers/freebsd-corpus';

/** The sample as jailnet's command layer would see a failure of it. */
function failure(s: CorpusSample): CommandError {
  return new CommandError(s.command.split(' '), s.exit, null, s.stdout, s.stderr, false);
}

function ifconfig(name: string): InterfaceInfo[] {
  const s = corpusSample(name);
  expect(s.exit).toBe(0);
  return parseIfconfig(s.stdout);
}

describe('the corpus itself', () => {
  const names = corpusNames();

  test('has at least 30 samples, each naming its release, source and command', () => {
    expect(names.length).toBeGreaterThanOrEqual(30);
    for (const name of names) {
      const s = corpusSample(name);
      expect({ name, release: s.release }).toEqual({ name, release: expect.stringMatching(/^FreeBSD 1[34]\.\d$/) });
      // A derived sample names FreeBSD source files; a captured one its address.
      for (const src of s.sources) {
        expect({ name, src }).toEqual({ name, src: expect.stringMatching(s.kind === 'derived' ? /^(sbin|usr\.sbin|usr\.bin|sys|lib)\// : /^https:\/\//) });
      }
      expect({ name, tool: s.command.split(' ')[0] }).toEqual({ name, tool: expect.stringMatching(/^(ifconfig|route|netstat|jls|jexec|jail|sysctl|pfctl)$/) });
      // Failures say something; output ends with a newline, as every printf of these tools does.
      if (s.exit !== 0) expect(s.stderr + s.stdout).not.toBe('');
      for (const text of [s.stdout, s.stderr]) if (text) expect(text.endsWith('\n')).toBe(true);
    }
  });

  test('covers each tool and error text jailnet reads', () => {
    const tools = new Set(names.map((n) => corpusSample(n).command.split(' ')[0]));
    expect([...tools].sort()).toEqual(['ifconfig', 'jail', 'jexec', 'jls', 'netstat', 'pfctl', 'route', 'sysctl']);
    expect(names.filter((n) => n.startsWith('err-')).length).toBeGreaterThanOrEqual(15);
  });
});

describe('ifconfig', () => {
  test('14.x bridge: flags, description, options=0, addresses, members newest first, groups, nd6', () => {
    const [b] = ifconfig('ifconfig-14-bridge-members');
    expect(b).toMatchObject({
      name: 'bridge0',
      flags: ['UP', 'BROADCAST', 'RUNNING', 'SIMPLEX', 'MULTICAST', 'LOWER_UP'],
      metric: 0,
      mtu: 1500,
      description: 'jailnet network default',
      options: [],
      ether: '58:9c:fc:10:a2:31',
      inet: [{ address: '10.88.0.1', prefixlen: 16, broadcast: '10.88.255.255' }],
      inet6: [{ address: 'fd00:88::1', prefixlen: 64, flags: [] }],
      groups: ['bridge', 'jailnet'],
      members: [
        { name: 'jn7a41c0de93f2', flags: ['LEARNING', 'DISCOVER', 'AUTOEDGE', 'AUTOPTP'] },
        { name: 'jn5f2c9a0e1b3d', flags: ['LEARNING', 'DISCOVER', 'AUTOEDGE', 'AUTOPTP'] },
      ],
    });
    // src/bridge/device.ts reads IPv6 being off from the nd6 line.
    expect(b?.other.nd6).toBe('options=1<PERFORMNUD>');
    expect(b?.other.id).toBe('00:00:00:00:00:00 priority 32768 hellotime 2 fwddelay 15');
  });

  test('14.x host end of an epair: PROMISC as a bridge member, description, two groups, media', () => {
    const [h] = ifconfig('ifconfig-14-epair-host-end');
    expect(h).toMatchObject({
      name: 'jn5f2c9a0e1b3d',
      flags: ['UP', 'BROADCAST', 'RUNNING', 'PROMISC', 'SIMPLEX', 'MULTICAST', 'LOWER_UP'],
      description: 'jailnet net=default jail=web1 if=eth0 ip=10.88.0.5',
      options: ['VLAN_MTU'],
      groups: ['epair', 'jailnet_host'],
      media: 'Ethernet 10Gbase-T (10Gbase-T <full-duplex>)',
      status: 'active',
      inet: [],
      inet6: [],
    });
    expect(h?.other.nd6).toBe('options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>');
  });

  test('14.x jail end: inet, inet6 global and link-local with scope id', () => {
    const [e] = ifconfig('ifconfig-14-epair-jail-end');
    expect(e?.inet).toEqual([{ address: '10.88.0.5', prefixlen: 16, broadcast: '10.88.255.255' }]);
    expect(e?.inet6).toEqual([
      { address: 'fd00:88::5', prefixlen: 64, flags: [] },
      { address: 'fe80::5f:2cff:fe9a:e0b', prefixlen: 64, scopeid: 2, flags: [] },
    ]);
    expect(e?.description).toBeUndefined();
  });

  test('the same interface with -f inet:cidr,inet6:cidr parses to the same addresses', () => {
    const [cidr] = ifconfig('ifconfig-14-cidr');
    const [plain] = ifconfig('ifconfig-14-epair-jail-end');
    expect(cidr?.inet).toEqual(plain?.inet);
    expect(cidr?.inet6).toEqual(plain?.inet6);
  });

  test('lo0 of a new jail (down, no address) and after jailnet brought it up', () => {
    const [down] = ifconfig('ifconfig-14-jail-lo0-down');
    expect(down).toMatchObject({ name: 'lo0', flags: ['LOOPBACK', 'MULTICAST'], mtu: 16384, inet: [], inet6: [], groups: ['lo'] });
    const [up] = ifconfig('ifconfig-14-jail-lo0-up');
    expect(up?.flags).toContain('UP');
    // A loopback address has no broadcast.
    expect(up?.inet).toEqual([{ address: '127.0.0.1', prefixlen: 8 }]);
    expect(up?.inet6).toEqual([
      { address: '::1', prefixlen: 128, flags: [] },
      { address: 'fe80::1', prefixlen: 64, scopeid: 1, flags: [] },
    ]);
  });

  test('14.x listing of every interface, in kernel order', () => {
    const all = ifconfig('ifconfig-14-all');
    expect(all.map((i) => i.name)).toEqual(['em0', 'lo0', 'bridge0', 'jn5f2c9a0e1b3d']);
    const em0 = all[0];
    expect(em0?.options).toContain('VLAN_MTU');
    expect(em0?.inet6.map((a) => a.address)).toEqual(['fe80::a00:27ff:fe8b:4e61', '2001:db8::10']);
    expect(em0?.media).toBe('Ethernet autoselect (1000baseT <full-duplex>)');
    expect(all[2]?.members.map((m) => m.name)).toEqual(['jn5f2c9a0e1b3d']);
  });

  test('13.x bridge and epair (no LOWER_UP, no options line on the bridge)', () => {
    const [b] = ifconfig('ifconfig-13-bridge');
    expect(b?.flags).toEqual(['UP', 'BROADCAST', 'RUNNING', 'SIMPLEX', 'MULTICAST']);
    expect(b?.options).toEqual([]);
    expect(b?.members.map((m) => m.name)).toEqual(['jn5f2c9a0e1b3d', 'epair0a']);
    expect(b?.other.nd6).toBe('options=9<PERFORMNUD,IFDISABLED>');
    const [e] = ifconfig('ifconfig-13-epair');
    expect(e).toMatchObject({ name: 'epair0a', flags: ['UP', 'BROADCAST', 'RUNNING', 'SIMPLEX', 'MULTICAST'], ether: '02:60:27:70:4b:0a' });
    expect(e?.inet).toEqual([{ address: '10.0.0.1', prefixlen: 24, broadcast: '10.0.0.255' }]);
  });

  test('-l, -g (members and an unknown group) and the names create and name print', () => {
    expect(parseInterfaceList(corpusSample('ifconfig-14-jail-l').stdout)).toEqual(['lo0', 'eth0']);
    expect(parseGroupMembers(corpusSample('ifconfig-14-g-group').stdout)).toEqual(['jn5f2c9a0e1b3d', 'jn7a41c0de93f2']);
    const unknown = corpusSample('ifconfig-g-unknown-group');
    expect(unknown.exit).toBe(0);
    expect(parseGroupMembers(unknown.stdout)).toEqual([]);
    expect(parseCreatedName(corpusSample('ifconfig-create-epair').stdout)).toBe('epair0a');
    expect(parseCreatedName(corpusSample('ifconfig-create-bridge').stdout)).toBe('bridge0');
    expect(parseCreatedName(corpusSample('ifconfig-name').stdout)).toBe('jn5f2c9a0e1b3d');
  });

  test('errors: no such interface, names taken, vnet refusals, a release without -j', () => {
    expect(isNoSuchInterface(failure(corpusSample('err-ifconfig-no-such-interface')))).toBe(true);
    // The other failures are not "no such interface".
    for (const n of ['err-ifconfig-already-exists', 'err-ifconfig-siocsifname-exists', 'err-ifconfig-siocsifvnet-exists', 'err-ifconfig-vnet-jail-not-found']) {
      expect({ n, missing: isNoSuchInterface(failure(corpusSample(n))) }).toEqual({ n, missing: false });
    }
    // src/link/epair.ts and src/bridge/device.ts match these two by the ioctl's name.
    expect(corpusSample('err-ifconfig-siocsifname-exists').stderr).toMatch(/SIOCSIFNAME.*File exists/);
    expect(corpusSample('err-ifconfig-siocsifvnet-exists').stderr).toMatch(/SIOCSIFVNET/);
    expect(isJailNotFound(failure(corpusSample('err-ifconfig-vnet-jail-not-found')))).toBe(true);
    const noJ = failure(corpusSample('err-ifconfig-13-illegal-option-j'));
    expect(isUnknownFlag(noJ, 'j')).toBe(true);
    expect(isUnknownFlag(noJ, 'n')).toBe(false);
  });
});

describe('route', () => {
  const expected = { fib: 0, flags: ['UP', 'GATEWAY', 'DONE', 'STATIC'] };

  test('get default, netlink form, with -n (numeric zero address) and without', () => {
    expect(parseRouteGet(corpusSample('route-14-get-default-n').stdout)).toEqual({ ...expected, destination: '0.0.0.0', mask: '0.0.0.0', gateway: '10.88.0.1', interface: 'eth0' });
    expect(parseRouteGet(corpusSample('route-14-get-default').stdout)).toEqual({ ...expected, destination: 'default', mask: 'default', gateway: '10.88.0.1', interface: 'eth0' });
    expect(parseRouteGet(corpusSample('route-14-get-default-inet6').stdout)).toEqual({ ...expected, destination: '::', mask: '::', gateway: 'fd00:88::1', interface: 'eth0' });
  });

  test('get default, routing-socket form of 13.x', () => {
    expect(parseRouteGet(corpusSample('route-13-get-default-n').stdout)).toEqual({ ...expected, destination: '0.0.0.0', mask: '0.0.0.0', gateway: '192.0.2.1', interface: 'em0' });
  });

  test('get of an interface route: no gateway', () => {
    const r = parseRouteGet(corpusSample('route-14-get-interface-route').stdout);
    expect(r).toEqual({ destination: '10.88.0.0', mask: '255.255.0.0', fib: 0, interface: 'bridge0', flags: ['UP', 'DONE', 'PINNED'] });
    expect(r.gateway).toBeUndefined();
  });

  test('add, add of an existing route, delete and get of a missing one, a release without -j', () => {
    const add = corpusSample('route-add');
    expect(isRouteExists(add.stdout)).toBe(false);
    const exists = corpusSample('err-route-add-exists');
    expect(isRouteExists(`${exists.stdout}\n${exists.stderr}`)).toBe(true);
    expect(isRouteMissing(`${exists.stdout}\n${exists.stderr}`)).toBe(false);
    for (const n of ['err-route-13-delete-missing', 'err-route-13-get-missing']) {
      const s = corpusSample(n);
      expect({ n, missing: isRouteMissing(`${s.stdout}\n${s.stderr}`) }).toEqual({ n, missing: true });
      expect({ n, exists: isRouteExists(`${s.stdout}\n${s.stderr}`) }).toEqual({ n, exists: false });
    }
    expect(isUnknownFlag(failure(corpusSample('err-route-13-illegal-option-j')), 'j')).toBe(true);
  });
});

describe('jls, jexec, jail', () => {
  test('jid name vnet, one jail and all of them', () => {
    expect(parseJlsJidNameVnet(corpusSample('jls-j-jid-name-vnet').stdout)).toEqual([{ jid: 1, name: 'web1', vnet: 'new' }]);
    expect(parseJlsJidNameVnet(corpusSample('jls-jid-name-vnet').stdout)).toEqual([
      { jid: 1, name: 'web1', vnet: 'new' },
      { jid: 2, name: 'db1', vnet: 'new' },
      { jid: 3, name: 'plain', vnet: 'inherit' },
    ]);
  });

  test('the default table is not mistaken for jid/name/vnet lines', () => {
    // Its rows start with a JID, but the third word is a path, not a vnet mode.
    expect(parseJlsJidNameVnet(corpusSample('jls-default').stdout)).toEqual([]);
  });

  test('--libxo json: parameter values are strings', () => {
    expect(JSON.parse(corpusSample('jls-libxo-json').stdout)).toEqual({ __version: '2', 'jail-information': { jail: [{ jid: '1', name: 'web1', vnet: 'new' }] } });
  });

  test('"not found" from jls, jexec, jail -r, and ifconfig -j / route -j of a missing jail', () => {
    for (const n of ['err-jls-not-found', 'err-jexec-not-found', 'err-jail-remove-not-found', 'err-ifconfig-j-jail-not-found', 'err-ifconfig-j-cannot-attach', 'err-route-j-jail-not-found', 'err-route-j-cannot-attach']) {
      expect({ n, notFound: isJailNotFound(failure(corpusSample(n))) }).toEqual({ n, notFound: true });
      expect({ n, noIf: isNoSuchInterface(failure(corpusSample(n))) }).toEqual({ n, noIf: false });
    }
  });

  test('jexec of a program the jail does not have', () => {
    const s = corpusSample('err-jexec-execvp-missing');
    expect(isToolMissingInJail(failure(s), '/sbin/ifconfig')).toBe(true);
    expect(isToolMissingInJail(failure(s), '/sbin/route')).toBe(false);
    expect(isToolMissingInJail(failure(corpusSample('err-jexec-not-found')), '/sbin/ifconfig')).toBe(false);
  });
});

describe('sysctl', () => {
  test('set, -n, unknown oid', () => {
    expect(parseSysctlSet(corpusSample('sysctl-set').stdout)).toEqual({ name: 'net.inet.ip.forwarding', old: '0', new: '1' });
    expect(parseSysctlValue(corpusSample('sysctl-n').stdout)).toBe('0');
    expect(isUnknownOid(corpusSample('err-sysctl-unknown-oid').stderr)).toBe(true);
    expect(isUnknownOid(corpusSample('sysctl-set').stdout)).toBe(false);
  });
});

describe('pfctl', () => {
  test('-s nat / -s rules of the main ruleset: the hooks', () => {
    expect(parseRules(corpusSample('pfctl-s-nat-main-hooks').stdout)).toEqual(['nat-anchor "jailnet/*" all', 'rdr-anchor "jailnet/*" all']);
    expect(parseRules(corpusSample('pfctl-s-rules-main-hook').stdout)).toEqual(['anchor "jailnet/*" all']);
  });

  test("jailnet's anchors as loaded, and as -nv prints them before loading", () => {
    const nat = 'nat on em0 inet from <masq> to any -> (em0) round-robin';
    expect(parseRules(corpusSample('pfctl-a-nat-anchor-s-nat').stdout)).toEqual([nat]);
    expect(parseRules(corpusSample('pfctl-nv-anchor-load').stdout)).toEqual([nat]);
    expect(parseRules(corpusSample('pfctl-a-portmap-anchor-s-nat').stdout)).toEqual([
      'nat on bridge0 inet proto tcp from 10.88.0.0/16 to 10.88.0.5 port = http -> (bridge0) round-robin',
      'rdr pass inet proto tcp from any to (em0) port = http-alt -> 10.88.0.5 port 80',
      'rdr pass inet proto tcp from any to (bridge0) port = http-alt -> 10.88.0.5 port 80',
    ]);
  });

  test('-s Anchors, -s Tables with and without -v, -T show', () => {
    expect(parseAnchors(corpusSample('pfctl-a-s-anchors').stdout)).toEqual(['jailnet/nat-default', 'jailnet/pm-default-0123456789a']);
    expect(parseTables(corpusSample('pfctl-s-tables').stdout)).toEqual(['masq']);
    expect(parseTables(corpusSample('pfctl-s-tables-verbose').stdout)).toEqual(['masq']);
    expect(parseTableAddresses(corpusSample('pfctl-T-show').stdout)).toEqual(['10.88.0.5', '10.88.0.7', '10.89.0.0/16']);
  });

  test('table messages of add (creating the table), add, delete, replace, flush, kill', () => {
    const changes = (n: string) => parseTableChanges(corpusSample(n).stderr);
    expect(changes('pfctl-T-add-created')).toEqual({ added: 1, deleted: 0, changed: 0 });
    expect(corpusSample('pfctl-T-add-created').stderr).toMatch(/^\d+ tables? created/m);
    expect(changes('pfctl-T-add-existing')).toEqual({ added: 0, deleted: 0, changed: 0 });
    expect(changes('pfctl-T-delete')).toEqual({ added: 0, deleted: 1, changed: 0 });
    expect(changes('pfctl-T-replace')).toEqual({ added: 1, deleted: 1, changed: 0 });
    expect(changes('pfctl-T-flush')).toEqual({ added: 0, deleted: 3, changed: 0 });
    // "1 table deleted." is about the table, not addresses.
    expect(changes('pfctl-T-kill')).toEqual({ added: 0, deleted: 0, changed: 0 });
  });

  test('missing tables and anchors, pf enabled twice, -s info', () => {
    expect(isPfObjectMissing(failure(corpusSample('err-pfctl-table-missing')))).toBe(true);
    expect(isPfObjectMissing(failure(corpusSample('err-pfctl-tables-anchor-missing')))).toBe(true);
    expect(corpusSample('pfctl-e').stderr).not.toMatch(/already enabled/);
    // src/freebsd/pfctl.ts enablePf matches this.
    expect(corpusSample('err-pfctl-already-enabled').stderr).toMatch(/already enabled/);
    expect(parsePfEnabled(corpusSample('pfctl-s-info').stdout)).toBe(true);
  });
});
