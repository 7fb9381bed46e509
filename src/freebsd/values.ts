import { isIPv4, isIPv6 } from 'node:net';
import { CniCode } from '../cni/errors';
import { macRefusal } from '../net/unusable';

/**
 * Validators for the non-name values that become command words (addresses, MACs, MTUs,
 * descriptions). Like names.ts, each returns its input so it can be used inline in an argv.
 */

export class InvalidValueError extends Error {
  readonly cniCode: number = CniCode.InvalidNetworkConfig;
  constructor(what: string, value: unknown, rule: string) {
    super(`invalid ${what} ${typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value)}: ${rule}`);
    this.name = 'InvalidValueError';
  }
}

export function ipv4Address(value: unknown): string {
  if (typeof value !== 'string' || !isIPv4(value)) throw new InvalidValueError('IPv4 address', value, 'must be a dotted-quad IPv4 address');
  return value;
}

/** An IPv6 address, optionally scoped ("fe80::1%epair0b"). */
export function ipv6Address(value: unknown): string {
  if (typeof value !== 'string') throw new InvalidValueError('IPv6 address', value, 'must be a string');
  const [addr, scope, ...rest] = value.split('%');
  if (!isIPv6(addr ?? '') || rest.length > 0 || (scope !== undefined && !/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/.test(scope))) {
    throw new InvalidValueError('IPv6 address', value, 'must be an IPv6 address, optionally followed by %interface');
  }
  return value;
}

export function ipAddress(value: unknown): string {
  if (typeof value === 'string' && value.includes(':')) return ipv6Address(value);
  return ipv4Address(value);
}

/** "address/prefix" for either family. */
export function cidr(value: unknown): string {
  if (typeof value !== 'string') throw new InvalidValueError('CIDR', value, 'must be a string like 10.0.0.1/24');
  const slash = value.indexOf('/');
  const addr = value.slice(0, slash);
  const prefix = value.slice(slash + 1);
  const v6 = addr.includes(':');
  const max = v6 ? 128 : 32;
  if (slash < 0 || !(v6 ? isIPv6(addr) : isIPv4(addr)) || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw new InvalidValueError('CIDR', value, `must be an address and a prefix length of 0 to ${max}, like ${v6 ? '2001:db8::1/64' : '10.0.0.1/24'}`);
  }
  return value;
}

/** A unicast Ethernet address other than all zeros, "02:00:00:00:00:01" (src/net/unusable.ts). */
export function macAddress(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) {
    throw new InvalidValueError('MAC address', value, 'must be six hex bytes separated by ":"');
  }
  const refused = macRefusal(value);
  if (refused) throw new InvalidValueError('MAC address', value, refused);
  return value.toLowerCase();
}

/** Ethernet MTU bounds FreeBSD accepts on epair and bridge. */
export const MTU_MIN = 576;
export const MTU_MAX = 16000;

export function mtuValue(value: unknown): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MTU_MIN || value > MTU_MAX) {
    throw new InvalidValueError('MTU', value, `must be an integer from ${MTU_MIN} to ${MTU_MAX}`);
  }
  return String(value);
}

/** An interface description: printable ASCII without quotes or backslashes, at most 255 characters. */
export function descriptionText(value: unknown): string {
  if (typeof value !== 'string' || value.length > 255 || !/^[\x20-\x7e]*$/.test(value) || /["'\\`$]/.test(value)) {
    throw new InvalidValueError('description', value, 'must be at most 255 printable characters without quotes, "\\", "`" or "$"');
  }
  return value;
}

/** A port number 1..65535. */
export function portNumber(value: unknown): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidValueError('port', value, 'must be an integer from 1 to 65535');
  }
  return String(value);
}
