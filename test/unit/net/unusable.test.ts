import { checkUsableRanges } from '../../../src/ipam/range';
import { hostConflict, type HostNetworks } from '../../../src/link/host-conflicts';
import { addressRefusal, gatewayRefusal, jailIfnameRefusal, jailRefusal, macRefusal, subnetRefusal } from '../../../src/net/unusable';

// The pure refusals shared by jailnetd, the plugins and the CLI (src/net/unusable.ts), and the
// comparison with the host's own addresses and routes (src/link/host-conflicts.ts).

test('subnets: special-purpose blocks and the default route are refused, private ones pass', () => {
  for (const s of ['10.88.0.0/16', '192.168.5.0/24', '172.16.0.0/12', '198.51.100.0/24', 'fd00:88::/64', '2001:db8::/32']) expect(subnetRefusal(s)).toBeUndefined();
  expect(subnetRefusal('0.0.0.0/0')).toBe('0.0.0.0/0 is the default route: a network there would take every address');
  expect(subnetRefusal('::/0')).toMatch(/is the default route/);
  expect(subnetRefusal('0.0.0.0/8')).toMatch(/"this network"/);
  expect(subnetRefusal('127.0.0.0/8')).toMatch(/loopback/);
  expect(subnetRefusal('126.0.0.0/7')).toMatch(/loopback/);
  expect(subnetRefusal('169.254.1.0/24')).toMatch(/link-local/);
  expect(subnetRefusal('224.0.0.0/24')).toMatch(/multicast/);
  expect(subnetRefusal('255.255.255.0/24')).toMatch(/reserved, with the broadcast address/);
  expect(subnetRefusal('::1/128')).toMatch(/loopback/);
  expect(subnetRefusal('::ffff:10.0.0.0/104')).toMatch(/IPv4-mapped/);
  expect(subnetRefusal('fe80::/64')).toMatch(/link-local/);
  expect(subnetRefusal('ff02::/16')).toMatch(/multicast/);
});

test('addresses and gateways', () => {
  expect(addressRefusal('10.0.0.1')).toBeUndefined();
  expect(addressRefusal('127.0.0.2')).toMatch(/loopback/);
  expect(addressRefusal('fe80::1')).toMatch(/link-local/);
  expect(gatewayRefusal('10.88.0.1', '10.88.0.0/16')).toBeUndefined();
  expect(gatewayRefusal('10.88.0.1', '10.88.5.7/16')).toBeUndefined();
  expect(gatewayRefusal('10.89.0.1', '10.88.0.0/16')).toBe('gateway 10.89.0.1 is outside the subnet 10.88.0.0/16');
  expect(gatewayRefusal('10.88.0.0', '10.88.0.0/16')).toBe('gateway 10.88.0.0 is the network address of 10.88.0.0/16');
  expect(gatewayRefusal('10.88.255.255', '10.88.0.0/16')).toBe('gateway 10.88.255.255 is the broadcast address of 10.88.0.0/16');
  expect(gatewayRefusal('fd88::1', '10.88.0.0/16')).toMatch(/not of the family/);
  expect(gatewayRefusal('fd88::ffff', 'fd88::/64')).toBeUndefined();
});

test('MAC, CNI_IFNAME, CNI_NETNS', () => {
  expect(macRefusal('02:00:00:00:00:01')).toBeUndefined();
  expect(macRefusal('00:00:00:00:00:00')).toBe('must not be 00:00:00:00:00:00');
  expect(macRefusal('ff:ff:ff:ff:ff:ff')).toMatch(/unicast/);
  expect(jailIfnameRefusal('lo0')).toMatch(/loopback/);
  expect(jailIfnameRefusal('eth0')).toBeUndefined();
  expect(jailRefusal('0')).toMatch(/JID 0, the host itself/);
  expect(jailRefusal('000')).toMatch(/JID 0/);
  expect(jailRefusal('10')).toBeUndefined();
  expect(jailRefusal('web')).toBeUndefined();
});

test('checkUsableRanges names the field, as jailnetd does', () => {
  expect(() => checkUsableRanges([[{ subnet: '10.88.0.0/16' }], [{ subnet: 'fd88::/64' }]])).not.toThrow();
  expect(() => checkUsableRanges([[{ subnet: '10.88.0.0/16' }], [{ subnet: 'fe80::/64' }]])).toThrow('ranges[1][0].subnet: fe80::/64 overlaps the link-local (fe80::/10) block');
  expect(() => checkUsableRanges([[{ subnet: '10.88.0.0/24', gateway: '10.89.0.1' }]])).toThrow('ranges[0][0].gateway: gateway 10.89.0.1 is outside the subnet 10.88.0.0/24');
});

describe('hostConflict', () => {
  // As readHostNetworks makes it from a host with em0 198.51.100.2/24 and 2001:db8:e0::2/64, a
  // default router 198.51.100.1, a static route 10.123.0.0/16; jailnet's interfaces and lo0 are
  // already left out by readHostNetworks.
  const host: HostNetworks = {
    addresses: [
      { iface: 'em0', cidr: '198.51.100.2/24' },
      { iface: 'em0', cidr: '2001:db8:e0::2/64' },
    ],
    routes: [
      { iface: 'em0', destination: 'default', prefix: 0, family: 4, gateway: '198.51.100.1' },
      { iface: 'em0', destination: '10.123.0.0/16', prefix: 16, family: 4, gateway: '198.51.100.1' },
      { iface: 'em0', destination: '198.51.100.0/24', prefix: 24, family: 4 },
      { iface: 'em0', destination: 'default', prefix: 0, family: 6, gateway: 'fe80::1' },
    ],
  };
  test.each([
    ['198.51.100.0/24', "198.51.100.0/24 overlaps the network of em0's address 198.51.100.2/24"],
    ['198.51.0.0/16', "198.51.0.0/16 overlaps the network of em0's address 198.51.100.2/24"],
    ['198.51.100.128/25', "198.51.100.128/25 overlaps the network of em0's address 198.51.100.2/24"],
    ['2001:db8:e0::/48', "2001:db8:e0::/48 overlaps the network of em0's address 2001:db8:e0::2/64"],
    ['10.123.7.0/24', "10.123.7.0/24 overlaps the host's route to 10.123.0.0/16 (through em0)"],
    ['10.0.0.0/8', "10.0.0.0/8 overlaps the host's route to 10.123.0.0/16 (through em0)"],
  ])('%s', (subnet, why) => {
    expect(hostConflict(subnet, host)).toBe(why);
  });
  test('a default router outside em0\'s subnet (an on-link route elsewhere) is still the host\'s', () => {
    const odd: HostNetworks = { addresses: [], routes: [{ iface: 'em0', destination: 'default', prefix: 0, family: 4, gateway: '10.200.0.1' }] };
    expect(hostConflict('10.200.0.0/24', odd)).toBe("10.200.0.0/24 holds 10.200.0.1, the host's default router (through em0)");
  });
  test('the network\'s own bridge does not count, even one made by hand (not of group jailnet)', () => {
    const withBridge: HostNetworks = { addresses: [...host.addresses, { iface: 'br-lan', cidr: '10.87.0.254/24' }], routes: [...host.routes, { iface: 'br-lan', destination: '10.87.0.0/24', prefix: 24, family: 4 }] };
    expect(hostConflict('10.87.0.0/24', withBridge)).toBe("10.87.0.0/24 overlaps the network of br-lan's address 10.87.0.254/24");
    expect(hostConflict('10.87.0.0/24', withBridge, 'br-lan')).toBeUndefined();
    expect(hostConflict('198.51.100.0/24', withBridge, 'br-lan')).toMatch(/em0/);
  });

  test('subnets the host does not use pass; the default route itself is no conflict', () => {
    for (const s of ['10.88.0.0/16', '10.124.0.0/16', 'fd88::/64', '2001:db8:e1::/64']) expect(hostConflict(s, host)).toBeUndefined();
  });
});
