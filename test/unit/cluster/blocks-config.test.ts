import { blockOfAddress, blocksOf, gatewayOf, rangesOf } from '../../../src/cluster/blocks';
import { clusterSettings, defaultVni } from '../../../src/cluster/config';
import { IpamError } from '../../../src/ipam/errors';
import { resolvePoolConfig } from '../../../src/ipam/range';

describe('address blocks of a cluster network', () => {
  test('a subnet cut into blocks, in address order', () => {
    expect(blocksOf('10.70.0.0/26', 28)).toEqual(['10.70.0.0/28', '10.70.0.16/28', '10.70.0.32/28', '10.70.0.48/28']);
    expect(blocksOf('10.71.0.0/21', 26)).toHaveLength(32);
    expect(blocksOf('10.70.0.0/24', 24)).toEqual(['10.70.0.0/24']);
  });

  test("a host's pool: one range per block, its own first address left out, the home block's gateway for all", () => {
    const ranges = rangesOf('10.70.0.0/26', ['10.70.0.16/28', '10.70.0.48/28'], gatewayOf('10.70.0.16/28'));
    expect(ranges).toEqual([
      [
        { subnet: '10.70.0.0/26', rangeStart: '10.70.0.17', rangeEnd: '10.70.0.31', gateway: '10.70.0.17' },
        { subnet: '10.70.0.0/26', rangeStart: '10.70.0.49', rangeEnd: '10.70.0.63', gateway: '10.70.0.17' },
      ],
    ]);
    // The local pool takes them as they are: the gateway and the subnet's broadcast are never handed out.
    const pool = resolvePoolConfig(ranges);
    expect(pool.rangeSets[0]?.ranges).toHaveLength(2);
  });

  test('the block of an address', () => {
    expect(blockOfAddress('10.70.0.53', 28)).toBe('10.70.0.48/28');
    expect(blockOfAddress('10.70.0.53/26', 28)).toBe('10.70.0.48/28');
  });
});

describe('the cluster object', () => {
  const base = { endpoints: ['http://10.0.0.1:2379'], vni: 42 };
  const refused = (c: object, subnet = '10.70.0.0/24') => {
    try {
      clusterSettings(c as never, subnet);
    } catch (err) {
      expect(err).toBeInstanceOf(IpamError);
      expect((err as IpamError).message.startsWith(`${(err as IpamError).field}: `)).toBe(true);
      return (err as IpamError).message;
    }
    throw new Error('accepted');
  };

  test('defaults', () => {
    expect(clusterSettings(base, '10.70.0.0/24')).toEqual({ endpoints: base.endpoints, vni: 42, prefix: '/jailnet', mtu: 1450, blockPrefix: 26, leaseTtl: 10, reclaimGrace: 30, port: 4789 });
  });

  test('bad values are refused with the field named', () => {
    expect(refused({ ...base, endpoints: ['10.0.0.1:2379'] })).toMatch(/^cluster\.endpoints\[0\]: /);
    expect(refused({ ...base, endpoints: ['http://10.0.0.1:2379/v3'] })).toMatch(/not an etcd client URL/);
    expect(refused({ ...base, endpoints: ['https://10.0.0.1:2379'] })).toMatch(/uses https but the network has no cluster\.tls/);
    expect(refused({ ...base, tls: { ca: '/ca.pem', cert: '/c.pem' } })).toMatch(/^cluster\.tls: cert and key go together/);
    expect(refused(base, 'fd00::/64')).toMatch(/IPv4 only/);
    expect(refused({ ...base, blockPrefix: 20 })).toMatch(/^cluster\.blockPrefix: \/20 blocks are larger than the subnet/);
    expect(refused({ ...base, underlay: 'em0; rm' })).toMatch(/^cluster\.underlay: /);
    expect(refused({ ...base, underlay: '2001:db8::1' })).toMatch(/^cluster\.underlay: /);
    expect(refused({ ...base, port: 65400 })).toMatch(/^cluster\.port: /);
    expect(clusterSettings({ ...base, underlay: 'em0' }, '10.70.0.0/24').underlay).toBe('em0');
    expect(clusterSettings({ ...base, underlay: '198.51.100.2' }, '10.70.0.0/24').underlay).toBe('198.51.100.2');
  });

  test('the default VNI depends on the name only, within 1..2^24-1', () => {
    expect(defaultVni('app')).toBe(defaultVni('app'));
    expect(defaultVni('app')).not.toBe(defaultVni('db'));
    for (const n of ['a', 'default', 'x'.repeat(48)]) expect(defaultVni(n)).toBeGreaterThanOrEqual(1);
    for (const n of ['a', 'default', 'x'.repeat(48)]) expect(defaultVni(n)).toBeLessThanOrEqual(16777215);
  });
});
