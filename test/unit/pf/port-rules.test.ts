import { CniError } from '../../../src/cni/errors';
import type { Result } from '../../../src/cni/types';
import { portmapAnchor, portmapAnchorNetwork } from '../../../src/pf/anchors';
import { renderPortmapRules, type PortRedirect } from '../../../src/pf/port-rules';
import { loadPortmapConfig } from '../../../src/portmap/config';
import { earlierEntries, parsePortMappings, reservationEntries } from '../../../src/portmap/mappings';
import { planRedirects, publishTarget } from '../../../src/portmap/plan';
import { loadNatConfig } from '../../../src/nat/config';

// portmap's rules are data: mappings -> redirects -> pf text, without a host.

const errorOf = (fn: () => unknown): { code: number; msg: string } => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return { code: err.code, msg: err.message };
    const e = err as { cniCode?: number; message: string };
    return { code: e.cniCode ?? -1, msg: e.message };
  }
  throw new Error('no error');
};

/** What the bridge plugin returns: [bridge, host end, jail end]. */
const bridgeResult: Result = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'jailnet0' }, { name: 'jn0123456789abc' }, { name: 'eth0', sandbox: 'web' }],
  ips: [
    { address: '10.88.0.5/16', gateway: '10.88.0.1', interface: 2 },
    { address: 'fd00:88::5/64', gateway: 'fd00:88::1', interface: 2 },
  ],
};
const epairResult: Result = { cniVersion: '1.0.0', interfaces: [{ name: 'jn0123456789abc' }, { name: 'eth0', sandbox: 'web' }], ips: [{ address: '10.89.0.2/32', interface: 1 }] };

describe('anchor names', () => {
  test('a direct child of jailnet, at most 63 characters per component, the network readable back', () => {
    const a = portmapAnchor('default', 'web', 'eth0');
    expect(a).toMatch(/^jailnet\/pm-default-[0-9a-f]{11}$/);
    expect(portmapAnchor('default', 'web', 'eth0')).toBe(a);
    expect(portmapAnchor('default', 'web', 'eth1')).not.toBe(a);
    expect(portmapAnchor('other', 'web', 'eth0')).not.toBe(a);
    const long = portmapAnchor('n'.repeat(48), 'c', 'eth0');
    expect(long.split('/')[1]).toHaveLength(63);
    expect(portmapAnchorNetwork(a)).toBe('default');
    expect(portmapAnchorNetwork(portmapAnchor('a-b-0123456789a', 'c', 'eth0'))).toBe('a-b-0123456789a');
    expect(portmapAnchorNetwork('jailnet/nat-default')).toBeUndefined();
    expect(portmapAnchorNetwork('jailnet/pm-x')).toBeUndefined();
    expect(portmapAnchorNetwork('jailnet/pm-x-0123456789a/deeper-0123456789a')).toBeUndefined();
  });
});

describe('port mappings', () => {
  test('lower-case protocol, canonical hostIP, duplicates dropped, neighbours joined into ranges', () => {
    const m = parsePortMappings([
      { hostPort: 8001, containerPort: 81, protocol: 'TCP' },
      { hostPort: 8000, containerPort: 80, protocol: 'tcp' },
      { hostPort: 8000, containerPort: 80, protocol: 'tcp' },
      { hostPort: 8002, containerPort: 90, protocol: 'tcp' },
      { hostPort: 8000, containerPort: 80, protocol: 'udp', hostIP: '2001:DB8:0::1' },
      { hostPort: 9000, hostPortEnd: 9009, containerPort: 9000, protocol: 'udp' },
      { hostPort: 9010, containerPort: 9010, protocol: 'udp' },
    ]);
    expect(m).toEqual([
      { protocol: 'tcp', hostPort: 8000, hostPortEnd: 8001, containerPort: 80 },
      { protocol: 'tcp', hostPort: 8002, hostPortEnd: 8002, containerPort: 90 },
      { protocol: 'udp', hostPort: 9000, hostPortEnd: 9010, containerPort: 9000 },
      { protocol: 'udp', hostPort: 8000, hostPortEnd: 8000, containerPort: 80, hostIP: '2001:db8::1' },
    ]);
    expect(reservationEntries(m)).toEqual([
      { protocol: 'tcp', hostPort: 8000, hostPortEnd: 8001 },
      { protocol: 'tcp', hostPort: 8002 },
      { protocol: 'udp', hostPort: 9000, hostPortEnd: 9010 },
      { protocol: 'udp', hostPort: 8000, hostIP: '2001:db8::1' },
    ]);
  });

  test.each([
    [[{ hostPort: 80, containerPort: 80, protocol: 'sctp' }], 2, 'field "runtimeConfig.portMappings[0].protocol": sctp is not supported'],
    [[{ hostPort: 80, containerPort: 80, protocol: 'icmp' }], 7, 'must be "tcp" or "udp"'],
    [[{ hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: '1.2.3.4; reboot' }], 7, 'field "runtimeConfig.portMappings[0].hostIP" must be an IP address'],
    [[{ hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }], 2, '127.0.0.1 is a loopback address'],
    [[{ hostPort: 80, containerPort: 80, protocol: 'udp', hostIP: '::1' }], 2, '::1 is a loopback address'],
    [[{ hostPort: 90, hostPortEnd: 80, containerPort: 80, protocol: 'tcp' }], 7, 'is below hostPort'],
    [[{ hostPort: 100, hostPortEnd: 200, containerPort: 65500, protocol: 'tcp' }], 7, 'beyond 65535'],
    [[{ hostPort: 80, hostPortEnd: 90, containerPort: 80, protocol: 'tcp' }, { hostPort: 85, containerPort: 1, protocol: 'tcp', hostIP: '10.0.0.1' }], 7, 'overlaps *:80-90->80-90/tcp'],
  ])('refused: %j', (raw, code, msg) => {
    const e = errorOf(() => parsePortMappings(raw));
    expect(e.code).toBe(code);
    expect(e.msg).toContain(msg);
  });

  test('the same port on two specific addresses, or for tcp and udp, is fine', () => {
    expect(
      parsePortMappings([
        { hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: '10.0.0.1' },
        { hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: '10.0.0.2' },
        { hostPort: 80, containerPort: 80, protocol: 'udp' },
      ]),
    ).toHaveLength(3);
  });

  test('earlierEntries: what the daemon holds beyond this ADD', () => {
    expect(
      earlierEntries(
        [
          { hostIP: '', protocol: 'tcp', hostPort: 80, hostPortEnd: 80 },
          { hostIP: '10.0.0.1', protocol: 'udp', hostPort: 53, hostPortEnd: 54 },
        ],
        [{ protocol: 'tcp', hostPort: 80 }],
      ),
    ).toEqual([{ hostIP: '10.0.0.1', protocol: 'udp', hostPort: 53, hostPortEnd: 54 }]);
  });
});

describe('plan and rules', () => {
  const web = parsePortMappings([
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '198.51.100.2' },
    { hostPort: 9000, hostPortEnd: 9002, containerPort: 7000, protocol: 'tcp', hostIP: '0.0.0.0' },
  ]);

  test('bridge: rdr on the external interface and the bridge, hairpin nat on the bridge; IPv6 for every-address mappings', () => {
    const target = publishTarget(bridgeResult, undefined);
    expect(target).toEqual({ v4: '10.88.0.5/16', v6: 'fd00:88::5/64', bridge: 'jailnet0' });
    expect(renderPortmapRules(planRedirects(web, target, { externalInterface: 'em0', snat: true })).split('\n')).toEqual([
      'nat on jailnet0 inet proto tcp from 10.88.0.0/16 to 10.88.0.5 port 80 tagged jailnet_rdr -> (jailnet0:0)',
      'nat on jailnet0 inet6 proto tcp from fd00:88::/64 to fd00:88::5 port 80 tagged jailnet_rdr -> (jailnet0:0)',
      'nat on jailnet0 inet proto tcp from 10.88.0.0/16 to 10.88.0.5 port 7000:7002 tagged jailnet_rdr -> (jailnet0:0)',
      'nat on jailnet0 inet proto udp from 10.88.0.0/16 to 10.88.0.5 port 53 tagged jailnet_rdr -> (jailnet0:0)',
      'rdr pass on ! lo0 inet proto tcp from any to (em0) port 8080 tag jailnet_rdr -> 10.88.0.5 port 80',
      'rdr pass on ! lo0 inet proto tcp from any to (jailnet0) port 8080 tag jailnet_rdr -> 10.88.0.5 port 80',
      'rdr pass on ! lo0 inet6 proto tcp from any to (em0) port 8080 tag jailnet_rdr -> fd00:88::5 port 80',
      'rdr pass on ! lo0 inet6 proto tcp from any to (jailnet0) port 8080 tag jailnet_rdr -> fd00:88::5 port 80',
      'rdr pass on ! lo0 inet proto tcp from any to (em0) port 9000:9002 tag jailnet_rdr -> 10.88.0.5 port 7000:*',
      'rdr pass on ! lo0 inet proto tcp from any to (jailnet0) port 9000:9002 tag jailnet_rdr -> 10.88.0.5 port 7000:*',
      'rdr pass on ! lo0 inet proto udp from any to 198.51.100.2 port 5353 tag jailnet_rdr -> 10.88.0.5 port 53',
      '',
    ]);
  });

  test('epair: no bridge, no hairpin nat (neighbours are routed through the host); snat false drops it on a bridge too', () => {
    const m = parsePortMappings([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    const target = publishTarget(epairResult, undefined);
    expect(target).toEqual({ v4: '10.89.0.2/32' });
    expect(renderPortmapRules(planRedirects(m, target, { externalInterface: 'em0', snat: true }))).toBe('rdr pass on ! lo0 inet proto tcp from any to (em0) port 8080 tag jailnet_rdr -> 10.89.0.2 port 80\n');
    expect(renderPortmapRules(planRedirects(m, publishTarget(bridgeResult, undefined), { externalInterface: 'em0', snat: false }))).not.toContain('nat on');
    expect(publishTarget(epairResult, 'br7').bridge).toBe('br7');
  });

  test('a hostIP of a family the jail lacks, a jail without address, no external interface: code 7', () => {
    const v6only = parsePortMappings([{ hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: '2001:db8::1' }]);
    expect(errorOf(() => planRedirects(v6only, publishTarget(epairResult, undefined), { externalInterface: 'em0', snat: true }))).toEqual({
      code: 7,
      msg: '[2001:db8::1]:80->80/tcp: hostIP 2001:db8::1 is IPv6 but the jail has no IPv6 address',
    });
    const any = parsePortMappings([{ hostPort: 80, containerPort: 80, protocol: 'tcp' }]);
    expect(errorOf(() => planRedirects(any, {}, { externalInterface: 'em0', snat: true })).msg).toContain('prevResult lists no address of the jail');
    expect(errorOf(() => planRedirects(any, publishTarget(epairResult, undefined), { snat: true })).msg).toContain('no external interface');
  });

  test('hostile values in prevResult or a redirect never reach the rule text', () => {
    expect(errorOf(() => publishTarget({ ...epairResult, ips: [{ address: '10.0.0.1/32 -> 1.2.3.4', interface: 1 }] }, undefined)).code).toBe(7);
    expect(errorOf(() => publishTarget({ ...bridgeResult, interfaces: [{ name: 'br0 }' }, { name: 'jn1' }, { name: 'eth0', sandbox: 'w' }] }, undefined)).code).toBe(7);
    const bad: PortRedirect = { family: 4, protocol: 'tcp', to: [{ interface: 'em0)' }], hostPort: 80, hostPortEnd: 80, jailAddress: '10.0.0.1', containerPort: 80 };
    expect(() => renderPortmapRules([bad])).toThrow('invalid interface name');
    expect(() => renderPortmapRules([{ ...bad, to: [{ interface: 'em0' }], jailAddress: '10.0.0.1\nrdr' }])).toThrow('invalid IPv4 address');
  });

  test('addresses of host-side interfaces in prevResult are not the jail\'s', () => {
    const r: Result = { ...bridgeResult, ips: [{ address: '10.88.0.1/16', interface: 0 }, { address: '10.88.0.5/16', interface: 2 }] };
    expect(publishTarget(r, undefined).v4).toBe('10.88.0.5/16');
  });
});

describe('configuration', () => {
  const base = { cniVersion: '1.0.0', name: 'net1', type: 'portmap' };

  test('defaults: snat and setFilterLocal on, jailnetd as jailnet-ipam finds it', () => {
    const c = loadPortmapConfig({ ...base, runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }] } });
    expect(c).toMatchObject({ snat: true, setFilterLocal: true, mappings: [{ protocol: 'tcp', hostPort: 80, hostPortEnd: 80, containerPort: 80 }] });
    expect(c.jailnetd).toEqual({ socket: '/var/run/jailnet/jailnetd.sock', autostart: true, daemonPath: '/usr/local/sbin/jailnetd', daemonArgs: ['--socket', '/var/run/jailnet/jailnetd.sock', '--log-file', '/var/log/jailnetd.log'], daemonLog: '/var/log/jailnetd.log', timeoutMs: 30_000,
      // Checked before use (docs/security.md); portmap's fields sit at the top of its configuration.
      paths: [
        { field: 'socket (default)', path: '/var/run/jailnet/jailnetd.sock', use: 'socket' },
        { field: 'daemon.path (default)', path: '/usr/local/sbin/jailnetd', use: 'program' },
        { field: 'daemon.logFile (default)', path: '/var/log/jailnetd.log', use: 'log' },
      ],
    });
    expect(loadPortmapConfig({ ...base, socket: '/tmp/s', autostart: false, daemon: { stateDir: '/tmp/st' } }).jailnetd).toMatchObject({ socket: '/tmp/s', autostart: false, daemonArgs: ['--socket', '/tmp/s', '--state-dir', '/tmp/st', '--log-file', '/var/log/jailnetd.log'] });
  });

  test.each([
    [{ conditionsV4: ['-s', '1.2.3.4'] }, 2, 'field "conditionsV4" is not supported'],
    [{ externalInterface: 'em0;reboot' }, 7, 'field "externalInterface"'],
    [{ bridge: 'x'.repeat(16) }, 7, 'field "bridge"'],
    [{ snat: 'yes' }, 7, 'field "snat" must be boolean'],
    [{ socket: 'relative.sock' }, 7, 'field "socket"'],
    [{ runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }] } }, 7, 'runtimeConfig.portMappings[0].hostPort'],
    [{ runtimeConfig: { portMappings: [{ hostPort: '80', containerPort: 80, protocol: 'tcp' }] } }, 7, 'must be integer'],
    [{ runtimeConfig: { portMappings: [{ hostPort: 80, protocol: 'tcp' }] } }, 7, 'containerPort" is required'],
  ])('refused: %j', (extra, code, msg) => {
    const e = errorOf(() => loadPortmapConfig({ ...base, ...extra }));
    expect(e.code).toBe(code);
    expect(e.msg).toContain(msg);
  });

  test('empty conditionsV4 and the iptables fields of the reference portmap are accepted', () => {
    expect(loadPortmapConfig({ ...base, conditionsV4: [], markMasqBit: 13, externalSetMarkChain: 'X', backend: 'iptables' }).mappings).toEqual([]);
  });

  test('nat: egressInterface checked', () => {
    expect(errorOf(() => loadNatConfig({ cniVersion: '1.0.0', name: 'n', type: 'nat', egressInterface: '-a' }))).toMatchObject({ code: 7 });
    expect(loadNatConfig({ cniVersion: '1.0.0', name: 'n', type: 'nat', egressInterface: 'em1' }).egressInterface).toBe('em1');
  });
});
