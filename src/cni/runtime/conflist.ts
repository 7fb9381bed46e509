import { readFileSync } from 'node:fs';
import validateConflist from '../../config/generated/conflist';
import { validateWith } from '../../config/validate';
import { CniCode, CniError } from '../errors';
import { compareVersions, isSupportedVersion, requireSupportedVersion, type CniVersion } from '../version';

/** A network configuration list, as loaded from a .conflist file. */
export interface NetworkConfigList {
  cniVersion: CniVersion;
  name: string;
  disableCheck?: boolean;
  disableGC?: boolean;
  plugins: PluginConf[];
  /** The bytes it was read from (cached with each result, like libcni). */
  bytes: Buffer;
}

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export function parseConflist(bytes: Buffer, source: string): NetworkConfigList {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `${source}: not valid JSON: ${(err as Error).message}`);
  }
  const list = validateWith<Omit<NetworkConfigList, 'bytes'> & { cniVersions?: string[] }>(validateConflist, raw, source);
  // As libcni: with cniVersions, the highest version both sides support wins over cniVersion.
  const offered = (list.cniVersions ?? []).filter(isSupportedVersion).sort(compareVersions);
  const cniVersion = offered.length ? (offered[offered.length - 1] as CniVersion) : requireSupportedVersion(list.cniVersion);
  return { ...list, cniVersion, bytes };
}

export function loadConflist(path: string): NetworkConfigList {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CniError(CniCode.IoFailure, `cannot read network file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConflist(bytes, path);
}
