import { CniCode, CniError } from './errors';
import type { IpConfig, LegacyResult, Result } from './types';
import { isLegacyResultVersion } from './version';

/**
 * Converts between the 1.x result held inside jailnet and the shape of a given cniVersion.
 * Both directions are lossless for every field the older shape has.
 */

/** Reads a result written in `version` (already schema-checked) into the 1.x shape. */
export function resultFromVersion(raw: Result | LegacyResult, version: string): Result {
  const out: Result = { cniVersion: version };
  if (raw.interfaces) out.interfaces = raw.interfaces.map((i) => ({ ...i }));
  if (raw.ips) {
    out.ips = raw.ips.map((ip) => {
      const copy: IpConfig = { address: ip.address };
      if (ip.gateway !== undefined) copy.gateway = ip.gateway;
      if (ip.interface !== undefined) copy.interface = ip.interface;
      return copy;
    });
  }
  if (raw.routes) out.routes = raw.routes.map((r) => ({ ...r }));
  if (raw.dns) out.dns = copyDns(raw.dns);
  checkInterfaceIndexes(out);
  return out;
}

/** Writes a 1.x result in the shape of `version`, with `cniVersion` set to it. */
export function resultToVersion(result: Result, version: string): Result | LegacyResult {
  if (!isLegacyResultVersion(version)) {
    const out: Result = { cniVersion: version };
    if (result.interfaces) out.interfaces = result.interfaces.map((i) => ({ ...i }));
    if (result.ips) out.ips = result.ips.map((ip) => ({ ...ip }));
    if (result.routes) out.routes = result.routes.map((r) => ({ ...r }));
    if (result.dns) out.dns = copyDns(result.dns);
    return out;
  }
  const out: LegacyResult = { cniVersion: version };
  if (result.interfaces) {
    out.interfaces = result.interfaces.map((i) => {
      const legacy: NonNullable<LegacyResult['interfaces']>[number] = { name: i.name };
      if (i.mac !== undefined) legacy.mac = i.mac;
      if (i.sandbox !== undefined) legacy.sandbox = i.sandbox;
      return legacy;
    });
  }
  if (result.ips) {
    out.ips = result.ips.map((ip) => {
      const legacy: NonNullable<LegacyResult['ips']>[number] = { version: addressFamily(ip.address), address: ip.address };
      if (ip.gateway !== undefined) legacy.gateway = ip.gateway;
      if (ip.interface !== undefined) legacy.interface = ip.interface;
      return legacy;
    });
  }
  if (result.routes) {
    out.routes = result.routes.map((r) => (r.gw !== undefined ? { dst: r.dst, gw: r.gw } : { dst: r.dst }));
  }
  if (result.dns) out.dns = copyDns(result.dns);
  return out;
}

/** "4" or "6" for an address or CIDR. */
export function addressFamily(addressOrCidr: string): '4' | '6' {
  return addressOrCidr.includes(':') ? '6' : '4';
}

function copyDns(dns: Result['dns']): NonNullable<Result['dns']> {
  const out: NonNullable<Result['dns']> = {};
  if (!dns) return out;
  if (dns.nameservers) out.nameservers = [...dns.nameservers];
  if (dns.domain !== undefined) out.domain = dns.domain;
  if (dns.search) out.search = [...dns.search];
  if (dns.options) out.options = [...dns.options];
  return out;
}

function checkInterfaceIndexes(result: Result): void {
  const count = result.interfaces?.length ?? 0;
  result.ips?.forEach((ip, n) => {
    if (ip.interface !== undefined && (ip.interface < 0 || ip.interface >= count)) {
      throw new CniError(
        CniCode.DecodingFailure,
        `invalid result: ips[${n}].interface is ${ip.interface} but the result has ${count} interface(s)`,
        'ips[].interface must index the interfaces list',
      );
    }
  });
}
