import { loadBridgeConfig } from '../../../src/bridge/config';
import { CniError } from '../../../src/cni/errors';
import { loadEpairConfig } from '../../../src/epair/config';
import { jailFromNetns } from '../../../src/jail/target';
import { planAddresses } from '../../../src/link/addresses';
import { requestedMac } from '../../../src/link/config';
import { attachmentMacs, describeHostEnd, hostEndName, parseHostEndDescription } from '../../../src/link/naming';
import { addressOf, canonicalAddress, firstHost, formatAddress, inSubnet, networkCidr, parseAddress } from '../../../src/net/cidr';
import { natAnchor } from '../../../src/pf/anchors';
import { renderMasqueradeRules } from '../../../src/pf/nat-rules';

const codeOf = (fn: () => unknown): { code: number; msg: string } => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return { code: err.code, msg: err.message };
    throw err;
  }
  throw new Error('no error');
};

const base = { cniVersion: '1.0.0', name: 'net1', type: 'bridge', ipam: { type: 'jailnet-ipam' } };

describe('bridge configuration', () => {
  test('defaults follow the reference plugin; isDefaultGateway implies isGateway', () => {
    const c = loadBridgeConfig({ ...base, isDefaultGateway: true });
    expect(c).toMatchObject({ bridge: 'jailnet0', isGateway: true, isDefaultGateway: true, ipMasq: false, forceAddress: false, hairpinMode: false, promiscMode: false });
    expect(loadBridgeConfig(base).isGateway).toBe(false);
  });

  test.each([
    [{ bridge: 'br;reboot' }, 7, 'field "bridge"'],
    [{ bridge: 'averyveryverylongbridge' }, 7, 'longer than 15'],
    [{ mtu: 100 }, 7, 'field "mtu"'],
    [{ mtu: '1500' }, 7, 'field "mtu" must be integer'],
    [{ isGateway: 'yes' }, 7, 'field "isGateway" must be boolean'],
    [{ vlan: 10 }, 2, '"vlan"'],
    [{ macspoofchk: true }, 2, '"macspoofchk"'],
    [{ runtimeConfig: { mac: 'zz:00' } }, 7, 'field "runtimeConfig.mac"'],
    [{ egressInterface: 'em0 up' }, 7, 'field "egressInterface"'],
    [{ ipMasq: true, ipam: {} }, 7, 'ipMasq needs addresses'],
    [{ name: 'n'.repeat(49) }, 7, 'field "name"'],
  ])('%j is refused with code %i', (extra, code, msg) => {
    const r = codeOf(() => loadBridgeConfig({ ...base, ...extra }));
    expect(r.code).toBe(code);
    expect(r.msg).toContain(msg);
  });

  test('vlan 0 and macspoofchk false are accepted (they ask for nothing)', () => {
    expect(() => loadBridgeConfig({ ...base, vlan: 0, macspoofchk: false })).not.toThrow();
  });

  test('epair needs IPAM', () => {
    expect(codeOf(() => loadEpairConfig({ ...base, type: 'epair', ipam: {} })).code).toBe(7);
  });
});

describe('MAC requests', () => {
  const conf = loadBridgeConfig({ ...base, args: { cni: { mac: '02:00:00:00:00:02' } }, runtimeConfig: { mac: '02:00:00:00:00:01' } });
  test('runtimeConfig.mac wins over args.cni.mac and CNI_ARGS', () => {
    expect(requestedMac(conf, new Map([['MAC', '02:00:00:00:00:03']]))).toBe('02:00:00:00:00:01');
    expect(requestedMac({ ...conf, runtimeConfig: {} }, new Map([['MAC', '02:00:00:00:00:03']]))).toBe('02:00:00:00:00:02');
    expect(requestedMac(loadBridgeConfig(base), new Map([['MAC', '02:00:00:00:00:03']]))).toBe('02:00:00:00:00:03');
    expect(requestedMac(loadBridgeConfig(base), new Map())).toBeUndefined();
  });
  test('a bad CNI_ARGS MAC is code 4', () => {
    expect(codeOf(() => requestedMac(loadBridgeConfig(base), new Map([['MAC', 'x']]))).code).toBe(4);
  });
});

describe('CNI_NETNS', () => {
  test('a jail name or JID', () => {
    expect(jailFromNetns('web1')).toBe('web1');
    expect(jailFromNetns('7')).toBe('7');
  });
  test.each(['/var/run/netns/cni-1234', '/proc/1/ns/net', 'web1;reboot', ''])('%p is refused with code 4', (netns) => {
    expect(codeOf(() => jailFromNetns(netns)).code).toBe(4);
  });
  test('a Linux path gets a message that says what CNI_NETNS means here', () => {
    expect(codeOf(() => jailFromNetns('/var/run/netns/x')).msg).toContain('on FreeBSD it must name a vnet jail');
  });
});

describe('names derived from the attachment', () => {
  test('host end names are 15 characters, stable, and differ per ifname', () => {
    const a = hostEndName('c1', 'eth0');
    expect(a).toMatch(/^jn[0-9a-f]{13}$/);
    expect(hostEndName('c1', 'eth0')).toBe(a);
    expect(hostEndName('c1', 'eth1')).not.toBe(a);
  });
  test('MACs: unicast, locally administered, host and jail differ', () => {
    const m = attachmentMacs('c1', 'eth0');
    expect(m.jail).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(m.host).toBe(`06${m.jail.slice(2)}`);
  });
  test('descriptions round-trip', () => {
    const d = { network: 'net1', jail: 'web1', ifname: 'eth0', ips: ['10.88.0.5', 'fd00::5'] };
    const text = describeHostEnd(d);
    expect(text).toBe('jailnet net=net1 jail=web1 if=eth0 ip=10.88.0.5,fd00::5');
    expect(parseHostEndDescription(text)).toEqual(d);
    expect(parseHostEndDescription('someone else')).toBeUndefined();
    expect(parseHostEndDescription(undefined)).toBeUndefined();
  });
});

describe('address plan', () => {
  test('isGateway fills missing gateways with the first host and puts them on the bridge', () => {
    const plan = planAddresses({ cniVersion: '1.0.0', ips: [{ address: '10.88.0.5/16' }, { address: 'fd00:88::5/64' }] }, { isGateway: true, isDefaultGateway: true });
    expect(plan.ips).toEqual([
      { address: '10.88.0.5/16', gateway: '10.88.0.1' },
      { address: 'fd00:88::5/64', gateway: 'fd00:88::1' },
    ]);
    expect(plan.gatewayCidrs).toEqual(['10.88.0.1/16', 'fd00:88::1/64']);
    expect(plan.routes).toEqual([
      { dst: '0.0.0.0/0', gw: '10.88.0.1' },
      { dst: '::/0', gw: 'fd00:88::1' },
    ]);
  });
  test('an IPAM default route is kept, not doubled', () => {
    const plan = planAddresses({ cniVersion: '1.0.0', ips: [{ address: '10.88.0.5/16', gateway: '10.88.0.254' }], routes: [{ dst: '0.0.0.0/0' }] }, { isGateway: true, isDefaultGateway: true });
    expect(plan.routes).toEqual([{ dst: '0.0.0.0/0' }]);
    expect(plan.gateways[4]).toBe('10.88.0.254');
  });
  test('without isGateway nothing goes on the bridge and no gateway is invented', () => {
    const plan = planAddresses({ cniVersion: '1.0.0', ips: [{ address: '10.88.0.5/16' }] }, { isGateway: false, isDefaultGateway: false });
    expect(plan).toEqual({ ips: [{ address: '10.88.0.5/16' }], gateways: {}, gatewayCidrs: [], routes: [] });
  });
  test('a jail address equal to the gateway is refused', () => {
    expect(codeOf(() => planAddresses({ cniVersion: '1.0.0', ips: [{ address: '10.88.0.1/16' }] }, { isGateway: true, isDefaultGateway: false })).code).toBe(7);
  });
  test('garbage from IPAM is refused before it reaches a command', () => {
    expect(codeOf(() => planAddresses({ cniVersion: '1.0.0', ips: [{ address: '10.88.0.5/16 alias' }] }, { isGateway: true, isDefaultGateway: false })).code).toBe(6);
  });
});

describe('address arithmetic', () => {
  test.each([
    ['10.88.0.5/16', '10.88.0.0/16', '10.88.0.1'],
    ['192.168.7.200/25', '192.168.7.128/25', '192.168.7.129'],
    ['fd00:88::5/64', 'fd00:88::/64', 'fd00:88::1'],
    ['2001:db8:1:2:3:4:5:6/48', '2001:db8:1::/48', '2001:db8:1::1'],
  ])('%s: network %s, first host %s', (c, net, first) => {
    expect(networkCidr(c)).toBe(net);
    expect(firstHost(c)).toBe(first);
  });
  test('canonical IPv6 text (RFC 5952)', () => {
    expect(canonicalAddress('FD00:0088:0000:0000:0000:0000:0000:0001')).toBe('fd00:88::1');
    expect(canonicalAddress('::ffff:10.0.0.1')).toBe('::ffff:a00:1');
    expect(formatAddress(6, parseAddress('1:0:0:2:0:0:0:3').value)).toBe('1:0:0:2::3');
    expect(addressOf('10.0.0.1/8')).toBe('10.0.0.1');
  });
  test('subnet membership', () => {
    expect(inSubnet('10.88.3.4', '10.88.0.1/16')).toBe(true);
    expect(inSubnet('10.89.0.1', '10.88.0.1/16')).toBe(false);
    expect(inSubnet('fd00::1', '10.88.0.1/16')).toBe(false);
  });
});

describe('pf rendering', () => {
  test('NAT anchor and rule', () => {
    expect(natAnchor('net1')).toBe('jailnet/nat-net1');
    expect(renderMasqueradeRules('em0', 'masq')).toBe('nat on em0 inet from <masq> to any -> (em0:0)\n');
    expect(() => renderMasqueradeRules('em0; pass all', 'masq')).toThrow();
    // With the first members: table and rule in one ruleset (one pfctl -f).
    expect(renderMasqueradeRules('em0', 'masq', ['10.88.0.2', '10.88.0.3'])).toBe('table <masq> persist { 10.88.0.2 10.88.0.3 }\nnat on em0 inet from <masq> to any -> (em0:0)\n');
    expect(() => renderMasqueradeRules('em0', 'masq', ['10.88.0.2 }\npass all {'])).toThrow();
  });
});
