import { CniCode, CniError } from './errors';

/** Protocol versions every jailnet plugin speaks, oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const CURRENT_VERSION: CniVersion = '1.1.0';

/** What VERSION prints (SPEC.md "VERSION"): the same answer from the dispatcher and the launcher. */
export function versionInfo(): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: CURRENT_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

/** Negative, zero or positive as a is older, equal or newer than b. Throws on a malformed version. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] as number) - (pb[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function parseVersion(v: string): [number, number, number] {
  const m = SEMVER.exec(v);
  if (!m) {
    throw new CniError(CniCode.DecodingFailure, `invalid cniVersion "${v}"`, 'cniVersion must look like "1.0.0"');
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** The version a config asks for, refusing those no jailnet plugin can produce (code 1). */
export function requireSupportedVersion(v: unknown): CniVersion {
  if (typeof v !== 'string' || v === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no cniVersion', 'set "cniVersion" (e.g. "1.0.0") at the top of the network configuration');
  }
  parseVersion(v);
  if (!isSupportedVersion(v)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `incompatible CNI versions: config is "${v}", plugin supports ${SUPPORTED_VERSIONS.join(', ')}`,
      `set "cniVersion" to one of ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return v;
}

export function atLeast(v: string, min: CniVersion): boolean {
  return compareVersions(v, min) >= 0;
}

/** True for the versions whose results carry ips[].version and the 0.x interface shape. */
export function isLegacyResultVersion(v: string): boolean {
  return compareVersions(v, '1.0.0') < 0;
}
