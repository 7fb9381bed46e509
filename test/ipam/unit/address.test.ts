import { canonicalAddress, formatAddress, parseAddress, parseAddressOrCidr, parseCidr } from '../../../src/net/address';

describe('addresses', () => {
  test.each([
    ['10.0.0.1', 4, 167772161n],
    ['255.255.255.255', 4, 4294967295n],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['::ffff:10.0.0.1', 6, 0xffff0a000001n],
    ['fd00:1:2:3:4:5:6:7', 6, 0xfd000001000200030004000500060007n],
  ])('parses %s', (text, family, value) => {
    expect(parseAddress(text)).toEqual({ family, value });
  });

  test.each(['10.0.0.256', '1.2.3', 'fe80::1%em0', '1::2::3', '', '10.0.0.1/24', 'x'])('refuses %p', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });

  test.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['fd00::', 'fd00::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['10.1.2.3', '10.1.2.3'],
  ])('canonical form of %s is %s (RFC 5952)', (text, want) => {
    expect(canonicalAddress(text)).toBe(want);
  });

  test('round-trips random IPv6 values', () => {
    for (let i = 0; i < 2000; i++) {
      let v = 0n;
      for (let g = 0; g < 8; g++) v = (v << 16n) | BigInt(Math.random() < 0.4 ? 0 : Math.floor(Math.random() * 65536));
      const text = formatAddress(6, v);
      expect(parseAddress(text)).toEqual({ family: 6, value: v });
    }
  });

  test('CIDRs', () => {
    expect(parseCidr('10.88.0.0/16')).toEqual({ address: { family: 4, value: 0x0a580000n }, prefix: 16 });
    expect(parseCidr('10.88.0.0/33')).toBeUndefined();
    expect(parseCidr('fd00::/129')).toBeUndefined();
    expect(parseCidr('10.88.0.0')).toBeUndefined();
    expect(parseAddressOrCidr('10.88.0.9/16')).toEqual({ family: 4, value: 0x0a580009n });
    expect(parseAddressOrCidr('10.88.0.9')).toEqual({ family: 4, value: 0x0a580009n });
  });
});

import { isIPv4 } from 'node:net';
import { parseIpv4 } from '../../../src/net/address';

describe('IPv4 parser', () => {
  test('agrees with net.isIPv4', () => {
    const samples = ['0.0.0.0', '1.2.3.4', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.04', '10.0.0.1 ', 'a.b.c.d', '1.2.3.4/8', '100.200.100.200', '0.0.0.00', '1.2.3.1000'];
    for (let i = 0; i < 3000; i++) {
      const parts = Array.from({ length: 2 + Math.floor(Math.random() * 4) }, () => (Math.random() < 0.1 ? '0' + String(Math.floor(Math.random() * 30)) : String(Math.floor(Math.random() * 300))));
      samples.push(parts.join('.'));
    }
    const disagree = samples.filter((s) => (parseIpv4(s) >= 0) !== isIPv4(s));
    expect(disagree).toEqual([]);
    expect(parseIpv4('10.1.2.3')).toBe(0x0a010203);
  });
});
