import { anchorName, groupName, interfaceName, jailName, networkName, tableName } from '../../../src/freebsd/names';
import { cidr, descriptionText, ipAddress, macAddress, mtuValue } from '../../../src/freebsd/values';

// Strings that must never reach a command line as a name.
const hostile = [
  '',
  ' ',
  'a b',
  'a;reboot',
  'a|b',
  'a&b',
  '$(id)',
  '`id`',
  'a>b',
  'a\nb',
  'a\tb',
  '../etc',
  'a/../b',
  '..',
  '-rf',
  '--help',
  'a"b',
  "a'b",
  'a\\b',
  'a*b',
  'a?b',
  'a\u0000b',
  'ä',
];

describe('name validators', () => {
  test.each(hostile)('interface name %p is refused', (v) => expect(() => interfaceName(v)).toThrow(/invalid interface name/));
  test.each(hostile)('jail name %p is refused', (v) => expect(() => jailName(v)).toThrow(/invalid jail name/));
  test.each(hostile)('network name %p is refused', (v) => expect(() => networkName(v)).toThrow(/invalid network name/));
  test.each(hostile)('table name %p is refused', (v) => expect(() => tableName(v)).toThrow(/invalid table name/));
  test.each(hostile)('group name %p is refused', (v) => expect(() => groupName(v)).toThrow(/invalid group name/));
  test.each([...hostile, 'jailnet//x', 'jailnet/', '/jailnet', 'jailnet/*/x', '*'])('anchor %p is refused', (v) => expect(() => anchorName(v, true)).toThrow(/invalid anchor name/));

  test.each([5, null, undefined, {}, ['eth0']])('non-strings (%p) are refused', (v) => {
    expect(() => interfaceName(v)).toThrow('must be a string');
    expect(() => jailName(v)).toThrow('must be a string');
  });

  test('interface names: 15 characters at most, letter first', () => {
    expect(interfaceName('jn0123456789abc')).toBe('jn0123456789abc');
    expect(() => interfaceName('jn0123456789abcd')).toThrow('longer than 15');
    expect(() => interfaceName('0eth')).toThrow('must start with a letter');
    expect(interfaceName('epair0b')).toBe('epair0b');
    expect(interfaceName('vlan.10')).toBe('vlan.10');
  });

  test('jail names: container IDs, JIDs and hierarchical names pass; 256 characters do not', () => {
    expect(jailName('3f6a0c0b2d1e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90')).toHaveLength(64);
    expect(jailName('12')).toBe('12');
    expect(jailName('parent.child')).toBe('parent.child');
    expect(() => jailName('a'.repeat(256))).toThrow('longer than 255');
  });

  test('anchors: jailnet paths and the hook wildcard', () => {
    expect(anchorName('jailnet/net1/5f2c9a0e1b3d')).toBe('jailnet/net1/5f2c9a0e1b3d');
    expect(anchorName('jailnet/*', true)).toBe('jailnet/*');
    expect(() => anchorName('jailnet/*')).toThrow();
    expect(() => anchorName(`jailnet/${'a'.repeat(64)}`)).toThrow();
  });

  test('tables: 31 characters; groups must not end in a digit', () => {
    expect(tableName('jailnet_net1')).toBe('jailnet_net1');
    expect(() => tableName('t'.repeat(32))).toThrow('longer than 31');
    expect(groupName('jailnet')).toBe('jailnet');
    expect(() => groupName('jailnet0')).toThrow('not end in a digit');
  });
});

describe('value validators', () => {
  test.each(['10.0.0.1/24', '2001:db8::1/64', '0.0.0.0/0'])('CIDR %p passes', (v) => expect(cidr(v)).toBe(v));
  test.each(['10.0.0.1', '10.0.0.1/33', '10.0.0.256/24', '2001:db8::1/129', '10.0.0.1/24 alias', '10.0.0.1/-1', 'x/24'])('CIDR %p is refused', (v) => expect(() => cidr(v)).toThrow(/invalid CIDR/));
  test.each(['10.0.0.1', '::1', 'fe80::1%eth0'])('address %p passes', (v) => expect(ipAddress(v)).toBe(v));
  test.each(['10.0.0', 'fe80::1%eth0;id', '1.2.3.4 5', '-1.2.3.4'])('address %p is refused', (v) => expect(() => ipAddress(v)).toThrow());
  test('MACs: unicast, six bytes, lower-cased', () => {
    expect(macAddress('02:AB:00:00:00:01')).toBe('02:ab:00:00:00:01');
    expect(() => macAddress('01:00:5e:00:00:01')).toThrow('unicast');
    expect(() => macAddress('02:00:00:00:00')).toThrow();
  });
  test('MTU bounds', () => {
    expect(mtuValue(1500)).toBe('1500');
    expect(() => mtuValue(70000)).toThrow();
    expect(() => mtuValue('1500')).toThrow();
  });
  test('descriptions: no quotes, no shell characters, no control characters', () => {
    expect(descriptionText('jailnet web1/eth0 on default')).toBe('jailnet web1/eth0 on default');
    for (const bad of ['a"b', 'a`id`', '$HOME', 'a\nb', 'x'.repeat(256)]) expect(() => descriptionText(bad)).toThrow();
  });
});
