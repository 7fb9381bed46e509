import { IpamError } from '../../../src/ipam/errors';
import type { RangeConfig } from '../../../src/ipam/range';
import { IpamState } from '../../../src/ipam/state';

const NOW = 1_700_000_000_000;

function stateWith(network: string, ranges: RangeConfig[][]): IpamState {
  const s = new IpamState();
  s.ensureNetwork(network, ranges, NOW);
  return s;
}

function alloc(s: IpamState, cid: string, extra: { ips?: string[]; ifname?: string; network?: string; ranges?: RangeConfig[][] } = {}) {
  const network = extra.network ?? 'net';
  const ranges = extra.ranges ?? [...s.networks.get(network)!.rangesConfig];
  s.ensureNetwork(network, ranges, NOW);
  return s.allocate({ network, containerID: cid, ifname: extra.ifname ?? 'eth0', ranges, ips: extra.ips }, NOW).value.lease;
}

function refusal(fn: () => unknown): IpamError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IpamError);
    return err as IpamError;
  }
  throw new Error('accepted');
}

describe('allocation', () => {
  test('skips network, gateway and broadcast, hands out every other address once', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/28', rangeStart: '10.0.0.0', rangeEnd: '10.0.0.15' }]]);
    const got = new Set<string>();
    for (let i = 0; i < 13; i++) got.add(alloc(s, `c${i}`).ips[0]!.address);
    expect(got.size).toBe(13);
    expect(got.has('10.0.0.0') || got.has('10.0.0.1') || got.has('10.0.0.15')).toBe(false);
    const err = refusal(() => alloc(s, 'c13'));
    expect(err.reason).toBe('pool-exhausted');
    expect(err.message).toMatch(/no free address in network net: range set 0 \(10\.0\.0\.0-10\.0\.0\.15 in 10\.0\.0\.0\/28\) has all 13 addresses held/);
  });

  test('round-robin: a released address is not handed out again at once', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }]]);
    const a = alloc(s, 'a').ips[0]!.address;
    expect(a).toBe('10.0.0.2');
    s.release('net', 'a', 'eth0');
    expect(alloc(s, 'b').ips[0]!.address).toBe('10.0.0.3');
  });

  test('the lease carries prefix and gateway', () => {
    const s = stateWith('net', [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.254' }]]);
    expect(alloc(s, 'a').ips).toEqual([{ address: '10.88.0.1', prefix: 16, gateway: '10.88.0.254', static: false }]);
  });

  test('a repeated ADD returns the lease the attachment holds', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }]]);
    const first = alloc(s, 'a');
    const again = s.allocate({ network: 'net', containerID: 'a', ifname: 'eth0', ranges: [[{ subnet: '10.0.0.0/24' }]] }, NOW + 5);
    expect(again.value.created).toBe(false);
    expect(again.records).toEqual([]);
    expect(again.value.lease).toBe(first);
    expect(alloc(s, 'a', { ifname: 'eth1' }).ips[0]!.address).not.toBe(first.ips[0]!.address);
  });

  test('exhaustion of one range set of a dual-stack network changes nothing', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/120', rangeStart: 'fd00::2', rangeEnd: 'fd00::3' }]]);
    alloc(s, 'a');
    alloc(s, 'b');
    const before = JSON.stringify(s.snapshotRecords());
    expect(refusal(() => alloc(s, 'c')).reason).toBe('pool-exhausted');
    expect(JSON.stringify(s.snapshotRecords())).toBe(before);
  });

  test('dual stack: one address per range set', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00:1::/64' }]]);
    const l = alloc(s, 'a');
    expect(l.ips.map((ip) => `${ip.address}/${ip.prefix} via ${ip.gateway}`)).toEqual(['10.0.0.2/24 via 10.0.0.1', 'fd00:1::2/64 via fd00:1::1']);
  });

  test('several ranges in a set are used in order, then wrap around', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.11' }, { subnet: '10.0.1.0/24', rangeStart: '10.0.1.10', rangeEnd: '10.0.1.10' }]]);
    expect(['a', 'b', 'c'].map((c) => alloc(s, c).ips[0]!.address)).toEqual(['10.0.0.10', '10.0.0.11', '10.0.1.10']);
    s.release('net', 'a', 'eth0');
    expect(alloc(s, 'd').ips[0]).toMatchObject({ address: '10.0.0.10', prefix: 24, gateway: '10.0.0.1' });
  });
});

describe('static requests', () => {
  const ranges = [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]];

  test('granted, in the range set of their family; others are picked', () => {
    const s = stateWith('net', ranges);
    const l = alloc(s, 'a', { ips: ['10.0.0.50/24'] });
    expect(l.ips).toEqual([
      { address: '10.0.0.50', prefix: 24, gateway: '10.0.0.1', static: true },
      { address: 'fd00::2', prefix: 64, gateway: 'fd00::1', static: false },
    ]);
    expect(alloc(s, 'b', { ips: ['FD00::0:99', '10.0.0.51'] }).ips.map((ip) => ip.address)).toEqual(['10.0.0.51', 'fd00::99']);
  });

  test('a static address moves the round-robin cursor, as host-local\'s last_reserved_ip (backend/disk Reserve)', () => {
    const s = stateWith('net', ranges);
    alloc(s, 'a', { ips: ['10.0.0.200'] });
    expect(alloc(s, 'b').ips[0]!.address).toBe('10.0.0.201');
  });

  test.each([
    ['10.0.1.5', 'address-not-allowed', /not in any range of network net \(10\.0\.0\.1-10\.0\.0\.254 in 10\.0\.0\.0\/24\)/],
    ['10.0.0.1', 'address-not-allowed', /is the gateway address/],
    ['10.0.0.255', 'address-not-allowed', /not in any range/],
    ['banana', 'address-not-allowed', /"banana" is not an IP address/],
  ])('refuses %s', (ip, reason, message) => {
    const s = stateWith('net', ranges);
    const err = refusal(() => alloc(s, 'x', { ips: [ip] }));
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
  });

  test('refuses two addresses in one range set', () => {
    const s = stateWith('net', ranges);
    expect(refusal(() => alloc(s, 'x', { ips: ['10.0.0.5', '10.0.0.6'] })).message).toMatch(/both in range set 0/);
  });

  test('refuses an address held by another attachment, naming it', () => {
    const s = stateWith('net', ranges);
    s.allocate({ network: 'net', containerID: 'web', ifname: 'eth0', jail: 'webjail', ranges, ips: ['10.0.0.7'] }, NOW);
    const err = refusal(() => alloc(s, 'x', { ips: ['10.0.0.7'] }));
    expect(err.reason).toBe('address-held');
    expect(err.holder).toEqual({ network: 'net', containerID: 'web', ifname: 'eth0', jail: 'webjail' });
    expect(err.message).toMatch(/already held by container web interface eth0 on network net, jail webjail/);
  });

  test('a repeated ADD asking for other addresses than held is refused', () => {
    const s = stateWith('net', ranges);
    alloc(s, 'a', { ips: ['10.0.0.9'] });
    expect(alloc(s, 'a', { ips: ['10.0.0.9'] }).ips[0]!.address).toBe('10.0.0.9');
    expect(refusal(() => alloc(s, 'a', { ips: ['10.0.0.10'] })).reason).toBe('lease-mismatch');
  });
});

describe('changed ranges', () => {
  test('keeps leases, allocates from the new ranges only, lists leases outside them', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }]]);
    const old = alloc(s, 'a');
    const kept = alloc(s, 'b', { ips: ['10.0.0.130'] });
    const change = s.ensureNetwork('net', [[{ subnet: '10.0.0.128/25' }]], NOW + 1000);
    expect(change.value.changed).toBe(true);
    expect(change.value.outOfRange.map((l) => l.containerID)).toEqual(['a']);
    expect(s.networks.get('net')!.configChangedAt).toBe(NOW + 1000);
    expect(s.lease('net', 'a', 'eth0')).toBe(old);
    expect(s.isInRange(old)).toBe(false);
    expect(s.isInRange(kept)).toBe(true);
    const fresh = alloc(s, 'c', { ranges: [[{ subnet: '10.0.0.128/25' }]] });
    expect(fresh.ips[0]!.address).toBe('10.0.0.131');
    expect(refusal(() => s.check('net', 'a', 'eth0')).reason).toBe('lease-out-of-range');
    expect(s.check('net', 'b', 'eth0')).toBe(kept);
    s.release('net', 'a', 'eth0');
    expect(s.networks.get('net')!.outOfRangeLeases()).toEqual([]);
  });

  test('an address held from before stays held when the new ranges include it', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.12' }]]);
    alloc(s, 'a');
    alloc(s, 'b');
    s.ensureNetwork('net', [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.11', rangeEnd: '10.0.0.13' }]], NOW);
    expect(alloc(s, 'c').ips[0]!.address).toBe('10.0.0.12');
    expect(alloc(s, 'd').ips[0]!.address).toBe('10.0.0.13');
    expect(refusal(() => alloc(s, 'e')).reason).toBe('pool-exhausted');
  });

  test('a lease on the new gateway address is out of range and still held', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }]]);
    const a = alloc(s, 'a');
    expect(a.ips[0]!.address).toBe('10.0.0.2');
    s.ensureNetwork('net', [[{ subnet: '10.0.0.0/24', gateway: '10.0.0.2' }]], NOW);
    expect(s.isInRange(a)).toBe(false);
    expect(refusal(() => alloc(s, 'x', { ips: ['10.0.0.2'] })).reason).toBe('address-not-allowed');
  });
});

describe('GC and reclaim', () => {
  test('GC releases the network\'s attachments not listed, and nothing else', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }]]);
    s.ensureNetwork('other', [[{ subnet: '10.1.0.0/24' }]], NOW);
    alloc(s, 'a');
    alloc(s, 'b');
    alloc(s, 'b', { ifname: 'eth1' });
    alloc(s, 'z', { network: 'other', ranges: [[{ subnet: '10.1.0.0/24' }]] });
    s.reservePorts({ network: 'net', containerID: 'b', ifname: 'eth1', ports: [{ protocol: 'tcp', hostPort: 80 }] });
    s.reservePorts({ network: 'net', containerID: 'a', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 81 }] });
    const out = s.gc({ network: 'net', validAttachments: [{ containerID: 'a', ifname: 'eth0' }] });
    expect(out.value.leases.map((l) => `${l.containerID}/${l.ifname}`).sort()).toEqual(['b/eth0', 'b/eth1']);
    expect(out.value.ports.map((p) => p.containerID)).toEqual(['b']);
    expect(s.leases({}).map((l) => l.containerID).sort()).toEqual(['a', 'z']);
    expect([...s.ports.reservations.keys()]).toEqual(['net/a/eth0']);
  });
});

describe('host ports', () => {
  test('conflicts name the holder; wildcards overlap specific addresses of their family', () => {
    const s = new IpamState();
    s.reservePorts({ network: 'net', containerID: 'web', ifname: 'eth0', jail: 'web', ports: [{ protocol: 'tcp', hostPort: 8080 }, { protocol: 'udp', hostPort: 5000, hostPortEnd: 5010 }] });
    const e1 = refusal(() => s.reservePorts({ network: 'net', containerID: 'x', ifname: 'eth0', ports: [{ hostIP: '192.0.2.1', protocol: 'tcp', hostPort: 8080 }] }));
    expect(e1.reason).toBe('port-conflict');
    expect(e1.holder).toEqual({ network: 'net', containerID: 'web', ifname: 'eth0', jail: 'web' });
    expect(e1.message).toMatch(/host port 192\.0\.2\.1:8080\/tcp is already reserved \(\*:8080\/tcp\) by container web/);
    expect(refusal(() => s.reservePorts({ network: 'n2', containerID: 'x', ifname: 'eth0', ports: [{ protocol: 'udp', hostPort: 5010 }] })).reason).toBe('port-conflict');
    s.reservePorts({ network: 'net', containerID: 'x', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 8081 }, { protocol: 'udp', hostPort: 8080 }] });
    s.reservePorts({ network: 'net', containerID: 'y', ifname: 'eth0', ports: [{ hostIP: '192.0.2.1', protocol: 'tcp', hostPort: 9000 }] });
    s.reservePorts({ network: 'net', containerID: 'z', ifname: 'eth0', ports: [{ hostIP: '192.0.2.2', protocol: 'tcp', hostPort: 9000 }, { hostIP: '::', protocol: 'tcp', hostPort: 9000 }] });
    expect(refusal(() => s.reservePorts({ network: 'net', containerID: 'w', ifname: 'eth0', ports: [{ hostIP: '0.0.0.0', protocol: 'tcp', hostPort: 9000 }] })).holder?.containerID).toBe('y');
    expect(refusal(() => s.reservePorts({ network: 'net', containerID: 'w', ifname: 'eth0', ports: [{ hostIP: '2001:db8::1', protocol: 'tcp', hostPort: 9000 }] })).holder?.containerID).toBe('z');
  });

  test('all or nothing, idempotent for the holder, release of some or all', () => {
    const s = new IpamState();
    s.reservePorts({ network: 'net', containerID: 'a', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 80 }] });
    const before = JSON.stringify(s.snapshotRecords());
    refusal(() => s.reservePorts({ network: 'net', containerID: 'b', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 81 }, { protocol: 'tcp', hostPort: 80 }] }));
    expect(JSON.stringify(s.snapshotRecords())).toBe(before);
    expect(s.reservePorts({ network: 'net', containerID: 'a', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 80 }] }).records).toEqual([]);
    s.reservePorts({ network: 'net', containerID: 'a', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 443 }] });
    expect(s.releasePorts({ network: 'net', containerID: 'a', ifname: 'eth0' }, [{ protocol: 'tcp', hostPort: 80 }]).value).toHaveLength(1);
    expect(s.ports.reservations.get('net/a/eth0')!.entries.map((e) => e.hostPort)).toEqual([443]);
    expect(s.releasePorts({ network: 'net', containerID: 'a', ifname: 'eth0' }).value).toHaveLength(1);
    expect(s.ports.reservations.size).toBe(0);
  });
});

describe('records', () => {
  test('replaying the records of every change, or a snapshot, rebuilds the same state', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]]);
    const log: unknown[] = [];
    const run = <T>(c: { records: unknown[]; value: T }) => (log.push(...c.records), c.value);
    log.push(...s.snapshotRecords());
    for (let i = 0; i < 50; i++) {
      run(s.ensureNetwork('net', [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]], NOW));
      run(s.allocate({ network: 'net', containerID: `c${i}`, ifname: 'eth0', ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]] }, NOW));
      if (i % 3 === 0) run(s.release('net', `c${i - 1 < 0 ? 0 : i - 1}`, 'eth0'));
    }
    run(s.reservePorts({ network: 'net', containerID: 'c2', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 80 }] }));
    const replayed = new IpamState();
    for (const r of log) replayed.apply(r as never);
    expect(JSON.stringify(replayed.snapshotRecords())).toBe(JSON.stringify(s.snapshotRecords()));
    const fromSnapshot = new IpamState();
    for (const r of s.snapshotRecords()) fromSnapshot.apply(r);
    // Applied twice (a snapshot that already holds later journal records): still the same.
    for (const r of log.slice(-20)) fromSnapshot.apply(r as never);
    expect(JSON.stringify(fromSnapshot.snapshotRecords())).toBe(JSON.stringify(s.snapshotRecords()));
    const next = (x: IpamState) => x.allocate({ network: 'net', containerID: 'next', ifname: 'eth0', ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]] }, NOW).value.lease.ips;
    expect(next(fromSnapshot)).toEqual(next(s));
  });

  test('records of a damaged journal that give one address to two attachments are reported, and the address stays held', () => {
    const s = stateWith('net', [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]]);
    const lease = (cid: string, v4: string, v6: string) => ['L', 'net', cid, 'eth0', 0, [[v4, 24, '10.0.0.1', 0], [v6, 64, 'fd00::1', 0]], NOW] as const;
    s.apply(lease('first', '10.0.0.7', 'fd00::7') as never);
    s.apply(lease('second', '10.0.0.7', 'fd00::7') as never);
    expect(s.warnings).toEqual([
      'an address of network net is claimed by both net/first/eth0 and net/second/eth0',
      'an address of network net is claimed by both net/first/eth0 and net/second/eth0',
    ]);
    expect(s.networks.get('net')!.holderOf('10.0.0.7')?.containerID).toBe('second');
    s.release('net', 'first', 'eth0');
    expect(s.networks.get('net')!.holderOf('10.0.0.7')?.containerID).toBe('second');
    expect(refusal(() => alloc(s, 'third', { ips: ['10.0.0.7'] })).reason).toBe('address-held');
  });
});
