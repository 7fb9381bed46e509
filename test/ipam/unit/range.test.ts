import { IpamError } from '../../../src/ipam/errors';
import { canonicalRangeSets, isAllocatableIn, resolvePoolConfig, resolveRange } from '../../../src/ipam/range';

function refusal(fn: () => unknown): IpamError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IpamError);
    return err as IpamError;
  }
  throw new Error('accepted');
}

describe('host-local ranges', () => {
  test('defaults: start after the network, end before broadcast, gateway .1', () => {
    const r = resolveRange({ subnet: '10.88.0.0/16' }, 'ranges[0][0]');
    expect(canonicalRangeSets({ rangeSets: [{ family: 4, ranges: [r] }], canonical: '' })).toEqual([
      [{ subnet: '10.88.0.0/16', rangeStart: '10.88.0.1', rangeEnd: '10.88.255.254', gateway: '10.88.0.1' }],
    ]);
  });

  test('IPv6 ends at the last address (no broadcast)', () => {
    const r = resolveRange({ subnet: 'fd00:88::/120' }, 'r');
    expect(r.end - r.network).toBe(255n);
  });

  test.each([
    [{ subnet: '10.88.0.1/16' }, 'ranges[0][0].subnet', /host bits set.*10\.88\.0\.0/],
    [{ subnet: '10.88.0.0/31' }, 'ranges[0][0].subnet', /too small/],
    [{ subnet: 'fd00::/127' }, 'ranges[0][0].subnet', /too small/],
    [{ subnet: 'banana' }, 'ranges[0][0].subnet', /not a subnet in CIDR/],
    [{ subnet: '10.88.0.0/24', rangeStart: '10.89.0.1' }, 'ranges[0][0].rangeStart', /not in network 10\.88\.0\.0\/24/],
    [{ subnet: '10.88.0.0/24', rangeEnd: '10.88.1.1' }, 'ranges[0][0].rangeEnd', /not in network/],
    [{ subnet: '10.88.0.0/24', rangeStart: '10.88.0.50', rangeEnd: '10.88.0.10' }, 'ranges[0][0].rangeEnd', /before rangeStart/],
    [{ subnet: '10.88.0.0/24', gateway: 'fd00::1' }, 'ranges[0][0].gateway', /IPv6 address in an IPv4 subnet/],
    [{ subnet: '10.88.0.0/24', rangeStart: '10.88.0.1', rangeEnd: '10.88.0.1' }, 'ranges[0][0]', /no address to hand out/],
  ])('refuses %j naming %s', (range, field, message) => {
    const err = refusal(() => resolvePoolConfig([[range]]));
    expect(err.reason).toBe('invalid-config');
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  test('refuses mixed families in a range set and overlapping ranges', () => {
    expect(refusal(() => resolvePoolConfig([[{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }]])).field).toBe('ranges[0][1].subnet');
    const overlap = refusal(() => resolvePoolConfig([[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.0.0/25' }]]));
    expect(overlap.field).toBe('ranges[1][0]');
    expect(overlap.message).toMatch(/overlaps ranges\[0\]\[0\]/);
    expect(refusal(() => resolvePoolConfig([])).field).toBe('ranges');
  });

  test('equal configurations written differently have the same canonical text', () => {
    const a = resolvePoolConfig([[{ subnet: '10.88.0.0/16' }]]);
    const b = resolvePoolConfig([[{ subnet: '10.88.0.0/16', rangeStart: '10.88.0.1', gateway: '10.88.0.1', rangeEnd: '10.88.255.254' }]]);
    expect(a.canonical).toBe(b.canonical);
    const c = resolvePoolConfig([[{ subnet: 'FD00:88:0::/64' }]]);
    expect(c.canonical).toContain('fd00:88::/64');
  });

  test('isAllocatableIn excludes network, gateway and broadcast', () => {
    const cfg = resolvePoolConfig([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.0', rangeEnd: '10.0.0.255' }]]);
    expect(isAllocatableIn(cfg, 4, 0x0a000000n)).toBe(false);
    expect(isAllocatableIn(cfg, 4, 0x0a000001n)).toBe(false);
    expect(isAllocatableIn(cfg, 4, 0x0a0000ffn)).toBe(false);
    expect(isAllocatableIn(cfg, 4, 0x0a000002n)).toBe(true);
    expect(isAllocatableIn(cfg, 4, 0x0a000100n)).toBe(false);
  });
});
