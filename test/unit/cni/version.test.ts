import { CniError, runAll } from '../../../src/cni/errors';
import { atLeast, compareVersions, requireSupportedVersion, SUPPORTED_VERSIONS } from '../../../src/cni/version';

describe('versions', () => {
  test('compares semantically, not as text', () => {
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect(atLeast('0.3.1', '0.4.0')).toBe(false);
  });

  test('accepts the five supported versions', () => {
    for (const v of SUPPORTED_VERSIONS) expect(requireSupportedVersion(v)).toBe(v);
  });

  test.each([
    ['0.2.0', 1],
    ['2.0.0', 1],
    ['1.0', 6],
    [undefined, 7],
    ['', 7],
  ])('refuses %p with code %p', (v, code) => {
    try {
      requireSupportedVersion(v);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(CniError);
      expect((err as CniError).code).toBe(code);
    }
  });
});

describe('runAll (GC keeps going)', () => {
  test('every task runs; the failures come back together with the first code', async () => {
    const ran: number[] = [];
    const err = (await runAll([
      async () => void ran.push(1),
      async () => {
        ran.push(2);
        throw new CniError(100, 'destroy jn1 failed');
      },
      async () => void ran.push(3),
      async () => {
        ran.push(4);
        throw new Error('ipam down');
      },
    ]).catch((e: unknown) => e)) as CniError;
    expect(ran).toEqual([1, 2, 3, 4]);
    expect(err).toBeInstanceOf(CniError);
    expect(err.code).toBe(100);
    expect(err.message).toBe('destroy jn1 failed; ipam down');
  });
});
