/** The vxlan(4) model of the emulator (emulator/src/ifconfig/vxlan.ts): words, checks, status line, vxlan_init, the Linux mapping. */
import { ToolError } from '../../../emulator/src/context';
import { encodeMeta, metaOf } from '../../../emulator/src/meta';
import {
  checkCreateFlags,
  getVal,
  initProblem,
  linuxVxlanArgs,
  parseVxlanWord,
  vxlanDefaultMtu,
  vxlanDefaults,
  vxlanStatusLine,
  type CreateFlags,
  type VxlanConfig,
} from '../../../emulator/src/ifconfig/vxlan';

const cfg = (over: Partial<VxlanConfig>): VxlanConfig => ({ ...vxlanDefaults(), ...over });
const apply = (word: string, args: string[], into = vxlanDefaults(), flags?: CreateFlags) => {
  parseVxlanWord(word, args).apply(into, flags);
  return into;
};
const message = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ToolError) return err.message;
    throw err;
  }
  return undefined;
};

describe('ifvxlan.c get_val (strtoul base 0, whole word)', () => {
  test.each([
    ['42', 42n],
    ['0x2a', 42n],
    ['052', 42n],
    ['  7', 7n],
    ['+7', 7n],
    ['0', 0n],
  ])('%j is %s', (w, v) => expect(getVal(w)).toBe(v));
  test.each(['', '4x', '0x', '09', 'abc', '7 '])('%j is refused', (w) => expect(getVal(w)).toBeUndefined());
  test('"-1" is ULONG_MAX, as strtoul makes it', () => expect(getVal('-1')).toBe((1n << 64n) - 1n));
});

describe('the words', () => {
  test('VNI: 0 to 2^24 - 1', () => {
    expect(apply('vxlanid', ['16777215']).vni).toBe(16777215);
    expect(apply('vni', ['0']).vni).toBe(0);
    expect(message(() => parseVxlanWord('vni', ['16777216']))).toBe('invalid network identifier: 16777216');
    expect(message(() => parseVxlanWord('vxlanid', ['-1']))).toBe('invalid network identifier: -1');
  });

  test('addresses: numeric only, multicast where it belongs, IPv6 as inet_ntop spells it', () => {
    expect(apply('vxlanlocal', ['2001:DB8:0:0::1']).local).toBe('2001:db8::1');
    expect(message(() => parseVxlanWord('vxlanlocal', ['224.0.0.5']))).toBe('local address cannot be multicast');
    expect(message(() => parseVxlanWord('vxlanremote', ['ff02::1']))).toBe('remote address cannot be multicast');
    expect(message(() => parseVxlanWord('vxlangroup', ['10.0.0.1']))).toBe('group address must be multicast');
    expect(message(() => parseVxlanWord('vxlanlocal', ['host.example']))).toBe('error in parsing local address string: hostname nor servname provided, or not known');
    expect(apply('vxlangroup', ['239.1.2.3']).remote).toBe('239.1.2.3');
  });

  test('ports: below 65535; port 0 passes ifconfig and is the kernel EINVAL of an existing interface', () => {
    expect(apply('vxlanlocalport', ['65534']).localPort).toBe(65534);
    expect(message(() => parseVxlanWord('vxlanremoteport', ['65535']))).toBe('invalid remote port: 65535');
    expect(parseVxlanWord('vxlanlocalport', ['0'])).toMatchObject({ cmd: 'VXLAN_CMD_SET_LOCAL_PORT', kernelInvalid: true, needsStopped: true });
    expect(message(() => parseVxlanWord('vxlanportrange', ['2000', '1000']))).toBe('invalid port range');
    expect(message(() => parseVxlanWord('vxlanportrange', ['x', '1000']))).toBe('invalid port range minimum: x');
    expect(apply('vxlanportrange', ['2000', '3000'])).toMatchObject({ portMin: 2000, portMax: 3000 });
  });

  test('TTL up to 256, stored in a byte; timeout and table size checked by the kernel only on an existing interface', () => {
    expect(apply('vxlanttl', ['256']).ttl).toBe(0);
    expect(message(() => parseVxlanWord('vxlanttl', ['257']))).toBe('invalid TTL value: 257');
    expect(parseVxlanWord('vxlanttl', ['5'])).toMatchObject({ needsStopped: false });
    const t = parseVxlanWord('vxlantimeout', ['86401']);
    expect(t).toMatchObject({ kernelInvalid: true, needsStopped: false });
    // A create ignores it (vxlan_set_user_config).
    expect(apply('vxlantimeout', ['86401']).timeout).toBe(1200);
    expect(apply('vxlanmaxaddr', ['100']).maxaddr).toBe(100);
    expect(apply('-vxlanlearn', []).learn).toBe(false);
  });

  test('vxlan_check_params: one family per side and both sides alike', () => {
    const f: CreateFlags = {};
    const c = apply('vxlanlocal', ['192.0.2.1'], vxlanDefaults(), f);
    apply('vxlanlocal', ['2001:db8::1'], c, f);
    expect(message(() => checkCreateFlags(f))).toBe('cannot specify both local IPv4 and IPv6 addresses');
    expect(message(() => checkCreateFlags({ remote4: true, remote6: true }))).toBe('cannot specify both remote IPv4 and IPv6 addresses');
    expect(message(() => checkCreateFlags({ local6: true, remote4: true }))).toBe('cannot mix IPv4 and IPv6 addresses');
    expect(message(() => checkCreateFlags({ local4: true, remote4: true }))).toBeUndefined();
  });
});

describe('vxlan_status and the MTU', () => {
  test('nothing until a VNI is set; empty host and port for an unset address', () => {
    expect(vxlanStatusLine(vxlanDefaults())).toBeUndefined();
    expect(vxlanStatusLine(cfg({ vni: 5 }))).toBe('vxlan vni 5 local : remote :');
    expect(vxlanStatusLine(cfg({ vni: 5, local: '192.0.2.1', remote: '192.0.2.2', remotePort: 4800 }))).toBe('vxlan vni 5 local 192.0.2.1:4789 remote 192.0.2.2:4800');
    expect(vxlanStatusLine(cfg({ vni: 5, local: '2001:db8::1', remote: 'ff05::5' }))).toBe('vxlan vni 5 local [2001:db8::1]:4789 group [ff05::5]:4789');
    expect(vxlanStatusLine(cfg({ vni: 5, remote: '2001:db8::2' }))).toBe('vxlan vni 5 local []: remote [2001:db8::2]:4789');
    expect(vxlanStatusLine(cfg({ vni: 5, local: '2001:db8::1' }))).toBe('vxlan vni 5 local 2001:db8::1:4789 remote :');
  });

  test('1500 less Ethernet, UDP, VXLAN and the outer IP header of the remote', () => {
    expect(vxlanDefaultMtu({})).toBe(1470);
    expect(vxlanDefaultMtu({ remote: '192.0.2.2' })).toBe(1450);
    expect(vxlanDefaultMtu({ remote: '2001:db8::2' })).toBe(1430);
  });
});

describe('vxlan_init', () => {
  const good = cfg({ vni: 42, local: '192.0.2.1', remote: '192.0.2.2' });
  const here = ['192.0.2.1', '127.0.0.1'];

  test('the reasons of vxlan_valid_init_config and of the socket, in order', () => {
    expect(initProblem(good, here, [])).toBeUndefined();
    expect(initProblem(cfg({ local: '192.0.2.1', remote: '192.0.2.2' }), here, [])).toBe('cannot initialize interface: invalid virtual network identifier specified');
    expect(initProblem(cfg({ vni: 1, local: '192.0.2.1' }), here, [])).toBe('cannot initialize interface: destination address type is not supported');
    expect(initProblem(cfg({ vni: 1, local: '192.0.2.1', remote: '0.0.0.0' }), here, [])).toBe('cannot initialize interface: no valid destination address specified');
    expect(initProblem({ ...good, dev: 'em0' }, here, [])).toBe('cannot initialize interface: can only specify interface with a group address');
    expect(initProblem({ ...good, remote: '2001:db8::2' }, here, [])).toBe('cannot initialize interface: source and destination address must both be either IPv4 or IPv6');
    expect(initProblem({ ...good, localPort: 0 }, here, [])).toBe('cannot initialize interface: local port not specified');
    expect(initProblem(cfg({ vni: 1, remote: '192.0.2.2' }), here, [])).toBe('cannot create socket (error: 47), and no existing socket found');
    expect(initProblem({ ...good, local: '192.0.2.9' }, here, [])).toBe('cannot create socket (error: 49), and no existing socket found');
  });

  test('one VNI per socket (local address and port); a wildcard and an address on one port do not mix', () => {
    const other = (c: Partial<VxlanConfig>) => [{ name: 'vxlan0', cfg: { ...good, ...c } }];
    expect(initProblem(good, here, other({}))).toBe('network identifier 42 already exists in this socket');
    expect(initProblem(good, here, other({ vni: 43 }))).toBeUndefined();
    expect(initProblem(good, here, other({ localPort: 4790 }))).toBeUndefined();
    expect(initProblem(good, here, other({ vni: 43, local: '0.0.0.0' }))).toBe('cannot create socket (error: 48), and no existing socket found');
    // Another address with the same VNI and port: FreeBSD runs it, Linux cannot (said so).
    expect(initProblem(good, [...here, '192.0.2.7'], other({ local: '192.0.2.7' }))).toMatch(/^network identifier 42 already exists on port 4789 of vxlan0 \(the emulator cannot/);
  });
});

describe('the Linux device', () => {
  test('one port: remote and learning in ip link add', () => {
    expect(linuxVxlanArgs(cfg({ vni: 42, local: '192.0.2.1', remote: '192.0.2.2' }))).toEqual({
      type: 'vxlan id 42 local 192.0.2.1 dstport 4789 remote 192.0.2.2 srcport 10000 65535 ttl 64 ageing 1200 maxaddress 2000 learning',
    });
  });

  test('two ports: the remote port goes in the default forwarding entry, and Linux does not learn', () => {
    expect(linuxVxlanArgs(cfg({ vni: 42, local: '192.0.2.1', remote: '192.0.2.2', localPort: 4790, remotePort: 4791 }))).toEqual({
      type: 'vxlan id 42 local 192.0.2.1 dstport 4790 srcport 10000 65535 ttl 64 ageing 1200 maxaddress 2000 nolearning',
      defaultEntry: { dst: '192.0.2.2', port: 4791 },
    });
  });

  test('a group is joined on the given interface', () => {
    expect(linuxVxlanArgs(cfg({ vni: 9, local: '192.0.2.1', remote: '239.1.1.1', portMin: 5000, portMax: 5000 }), 'em0').type).toBe(
      'vxlan id 9 local 192.0.2.1 dstport 4789 group 239.1.1.1 dev em0 srcport 5000 5001 ttl 64 ageing 1200 maxaddress 2000 learning',
    );
  });
});

test('the configuration travels in the interface metadata, defaults left out', () => {
  const c = cfg({ vni: 42, local: '2001:db8::1', remote: 'ff05::5', localPort: 4790, ttl: 9, learn: false, dev: 'em0', userMtu: true });
  const alias = encodeMeta({ kind: 'vxlan', unit: 3, home: 0, ifdisabled: true, groups: ['vxlan'], vxlan: c });
  expect(alias).toBe('jn1;k=vxlan;u=3;h=0;n=1;g=vxlan;v=42;la=2001:db8::1;ra=ff05::5;lp=4790;t=9;nl=1;md=em0;um=1');
  expect(metaOf({ ifindex: 1, ifname: 'vxlan3', flags: [], mtu: 1400, ifalias: alias }).vxlan).toEqual(c);
  expect(metaOf({ ifindex: 1, ifname: 'vxlan4', flags: [], mtu: 1470, ifalias: 'jn1;k=vxlan;u=4;h=0;n=1;g=vxlan' }).vxlan).toEqual(vxlanDefaults());
});
