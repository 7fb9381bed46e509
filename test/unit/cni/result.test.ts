import { parseResultIn } from '../../../src/cni/parse-result';
import { resultFromVersion, resultToVersion } from '../../../src/cni/result';
import type { LegacyResult, Result } from '../../../src/cni/types';
import { SUPPORTED_VERSIONS } from '../../../src/cni/version';

// The shapes of cni.md: 1.x with interface mtu and route extras, 0.x with ips[].version.
const current: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'jailnet0', mac: '58:9c:fc:10:ff:c1' },
    { name: 'jn0123456789ab', mac: '02:00:00:00:00:0a', mtu: 1500 },
    { name: 'eth0', mac: '02:00:00:00:00:0b', mtu: 1500, sandbox: 'web1' },
  ],
  ips: [
    { address: '10.88.0.5/16', gateway: '10.88.0.1', interface: 2 },
    { address: 'fd00:88::5/64', gateway: 'fd00:88::1', interface: 2 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.88.0.1', mtu: 1400, priority: 10 },
    { dst: '::/0', gw: 'fd00:88::1' },
  ],
  dns: { nameservers: ['10.88.0.1'], domain: 'example', search: ['example'], options: ['ndots:1'] },
};

const legacy: LegacyResult = {
  cniVersion: '0.4.0',
  interfaces: [
    { name: 'jailnet0', mac: '58:9c:fc:10:ff:c1' },
    { name: 'jn0123456789ab', mac: '02:00:00:00:00:0a' },
    { name: 'eth0', mac: '02:00:00:00:00:0b', sandbox: 'web1' },
  ],
  ips: [
    { version: '4', address: '10.88.0.5/16', gateway: '10.88.0.1', interface: 2 },
    { version: '6', address: 'fd00:88::5/64', gateway: 'fd00:88::1', interface: 2 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '::/0', gw: 'fd00:88::1' }],
  dns: { nameservers: ['10.88.0.1'], domain: 'example', search: ['example'], options: ['ndots:1'] },
};

describe('result conversion', () => {
  test.each(['1.0.0', '1.1.0'])('to %s keeps the 1.x shape with the requested cniVersion', (v) => {
    expect(resultToVersion(current, v)).toEqual({ ...current, cniVersion: v });
  });

  test.each(['0.3.0', '0.3.1', '0.4.0'])('to %s adds ips[].version and drops 1.x-only fields', (v) => {
    expect(resultToVersion(current, v)).toEqual({ ...legacy, cniVersion: v });
  });

  test.each(['0.3.0', '0.3.1', '0.4.0'])('from %s reads ips without version', (v) => {
    const back = resultFromVersion({ ...legacy, cniVersion: v }, v);
    expect(back.ips).toEqual(current.ips);
    expect(back.interfaces?.[2]).toEqual({ name: 'eth0', mac: '02:00:00:00:00:0b', sandbox: 'web1' });
    expect(back.cniVersion).toBe(v);
  });

  test('every version round-trips through 1.x without losing the fields it has', () => {
    for (const v of SUPPORTED_VERSIONS) {
      const written = resultToVersion(current, v);
      const reread = resultToVersion(resultFromVersion(written, v), v);
      expect(reread).toEqual(written);
    }
  });

  test('legacy -> 1.x -> legacy is exact', () => {
    expect(resultToVersion(resultFromVersion(legacy, '0.4.0'), '0.4.0')).toEqual(legacy);
  });

  test('an IPAM result (no interfaces) converts both ways', () => {
    const ipam: Result = { cniVersion: '1.0.0', ips: [{ address: '10.1.0.2/24', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }] };
    expect(resultToVersion(ipam, '0.3.1')).toEqual({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.2/24', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }] });
  });
});

describe('parseResultIn (prevResult and IPAM output)', () => {
  test('reads a 0.4.0 result in the 0.4.0 shape', () => {
    expect(parseResultIn(legacy, '0.4.0', 'prevResult').ips?.[0]).toEqual({ address: '10.88.0.5/16', gateway: '10.88.0.1', interface: 2 });
  });

  test('a 0.4.0 result without ips[].version is refused, naming the field', () => {
    const bad = { cniVersion: '0.4.0', ips: [{ address: '10.0.0.2/24' }] };
    expect(() => parseResultIn(bad, '0.4.0', 'prevResult')).toThrow('prevResult: field "ips[0].version" is required');
  });

  test('a wrong type names the JSON path', () => {
    const bad = { cniVersion: '1.0.0', interfaces: [{ name: 'a' }], ips: [{ address: '10.0.0.2/24', interface: 'zero' }] };
    expect(() => parseResultIn(bad, '1.0.0', 'prevResult')).toThrow('field "ips[0].interface" must be integer');
  });

  test('an interface index outside the list is refused', () => {
    const bad = { cniVersion: '1.0.0', interfaces: [{ name: 'a' }], ips: [{ address: '10.0.0.2/24', interface: 3 }] };
    expect(() => parseResultIn(bad, '1.0.0', 'prevResult')).toThrow('ips[0].interface is 3 but the result has 1 interface(s)');
  });
});
