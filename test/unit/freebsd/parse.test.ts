import { netmaskToPrefix, parseCreatedName, parseGroupMembers, parseInterfaceList } from '../../../src/freebsd/parse/ifconfig';
import { parseJlsJidNameVnet } from '../../../src/freebsd/parse/jls';
import { parseAnchors, parsePfEnabled, parseRules, parseTableAddresses, parseTableChangeCount, parseTableChanges, parseTables } from '../../../src/freebsd/parse/pfctl';
import { isRouteExists, isRouteMissing } from '../../../src/freebsd/parse/route';
import { isUnknownOid, parseSysctlSet } from '../../../src/freebsd/parse/sysctl';

describe('ifconfig output', () => {
  test.each([
    ['0xffffff00', 24],
    ['0xff000000', 8],
    ['0xffffffff', 32],
    ['0x00000000', 0],
    // in_status_nl prints "0x%lx": no leading zeros.
    ['0x0', 0],
    ['0x80000000', 1],
    ['255.255.240.0', 20],
  ])('netmask %s is /%i', (mask, bits) => expect(netmaskToPrefix(mask)).toBe(bits));

  test('-l, -g and create', () => {
    expect(parseInterfaceList('lo0 em0 bridge0 epair0a\n')).toEqual(['lo0', 'em0', 'bridge0', 'epair0a']);
    expect(parseGroupMembers('jn1\njn2\n')).toEqual(['jn1', 'jn2']);
    expect(parseGroupMembers('')).toEqual([]);
    expect(parseCreatedName('epair3a\n')).toBe('epair3a');
    expect(() => parseCreatedName('')).toThrow('where it prints the new interface');
  });
});

describe('jls output', () => {
  test('jid name vnet, words and numbers', () => {
    expect(parseJlsJidNameVnet('5 web1 new\n6 db inherit\n7 old 1\n8 cut 2\n9 nonet disable\n10 odd maybe\n')).toEqual([
      { jid: 5, name: 'web1', vnet: 'new' },
      { jid: 6, name: 'db', vnet: 'inherit' },
      { jid: 7, name: 'old', vnet: 'new' },
      { jid: 8, name: 'cut', vnet: 'inherit' },
      { jid: 9, name: 'nonet', vnet: 'disable' },
    ]);
  });
});

describe('route output', () => {
  test('exists / missing messages', () => {
    expect(isRouteExists('add net default: gateway 10.0.0.1 fib 0: route already in table')).toBe(true);
    expect(isRouteMissing('route: route has not been found')).toBe(true);
    expect(isRouteMissing('delete net default: gateway 10.0.0.1 fib 0: not in table')).toBe(true);
  });
});

describe('pfctl output', () => {
  test('rules, anchors, tables', () => {
    expect(parseRules('nat on em0 inet from 10.88.0.0/16 to any -> (em0) round-robin\nNo ALTQ support in kernel\n')).toEqual(['nat on em0 inet from 10.88.0.0/16 to any -> (em0) round-robin']);
    expect(parseAnchors('  jailnet\n  jailnet/net1\n')).toEqual(['jailnet', 'jailnet/net1']);
    expect(parseTableAddresses('   10.88.0.5\n   10.88.0.6\n')).toEqual(['10.88.0.5', '10.88.0.6']);
    expect(parseTableChangeCount('1/1 addresses added.\n')).toBe(1);
    expect(parseTableChangeCount('0/1 addresses deleted.\n')).toBe(0);
  });

  test('pfctl -s Tables: plain, verbose (flags, name, anchor) and -s all\'s title', () => {
    expect(parseTables('')).toEqual([]);
    expect(parseTables('jailnet_masq\nmembers\n')).toEqual(['jailnet_masq', 'members']);
    expect(parseTables('-pa-r--\tjailnet_masq\tjailnet/nat\n--a-r-C\tmembers\n')).toEqual(['jailnet_masq', 'members']);
    expect(parseTables('TABLES:\nmembers\n\n')).toEqual(['members']);
  });

  test('table change messages of add, delete, flush and replace (pfctl_table.c)', () => {
    // add / delete: "N/M addresses ...", after "1 table created." when add made the table.
    expect(parseTableChanges('1 table created.\n2/2 addresses added.\n')).toEqual({ added: 2, deleted: 0, changed: 0 });
    expect(parseTableChanges('1/3 addresses deleted.\n')).toEqual({ added: 0, deleted: 1, changed: 0 });
    // flush: "N addresses deleted."
    expect(parseTableChanges('4 addresses deleted.\n')).toEqual({ added: 0, deleted: 4, changed: 0 });
    // replace: a line per non-zero count, or "no changes."
    expect(parseTableChanges('1 addresses added.\n')).toEqual({ added: 1, deleted: 0, changed: 0 });
    expect(parseTableChanges('2 addresses deleted.\n')).toEqual({ added: 0, deleted: 2, changed: 0 });
    expect(parseTableChanges('1 addresses added.\n2 addresses deleted.\n1 addresses changed.\n')).toEqual({ added: 1, deleted: 2, changed: 1 });
    expect(parseTableChanges('no changes.\n')).toEqual({ added: 0, deleted: 0, changed: 0 });
    // -n forms and unrelated lines.
    expect(parseTableChanges('1/1 addresses added (dummy).\n')).toEqual({ added: 1, deleted: 0, changed: 0 });
    expect(parseTableChanges('pfctl: warning: namespace collision with <t> global table.\n1 tables deleted.\n')).toEqual({ added: 0, deleted: 0, changed: 0 });
    // The total.
    expect(parseTableChangeCount('1 table created.\n3 addresses added.\n')).toBe(3);
    expect(parseTableChangeCount('1 addresses added.\n2 addresses deleted.\n')).toBe(3);
    expect(parseTableChangeCount('no changes.\n')).toBe(0);
    expect(parseTableChangeCount('')).toBe(0);
  });

  test('pfctl -s info', () => {
    expect(parsePfEnabled('Status: Enabled for 0 days 00:01:02           Debug: Urgent\n\nState Table ...')).toBe(true);
    expect(parsePfEnabled('Status: Disabled for 0 days 00:00:00          Debug: Urgent\n')).toBe(false);
  });
});

describe('sysctl output', () => {
  test('unknown oid', () => {
    expect(isUnknownOid("sysctl: unknown oid 'kern.features.vimage'\n")).toBe(true);
    expect(isUnknownOid('sysctl: kern.features.vimage: Operation not permitted\n')).toBe(false);
  });

  test('set prints old -> new', () => {
    expect(parseSysctlSet('net.inet.ip.forwarding: 0 -> 1\n')).toEqual({ name: 'net.inet.ip.forwarding', old: '0', new: '1' });
  });
});
