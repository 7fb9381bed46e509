import { CniCode } from '../cni/errors';

/**
 * Validators for every name that becomes a word of a FreeBSD command. Anything that is not a
 * plain name (shell metacharacters, "/", "..", spaces, leading "-", over-long) is rejected
 * before a command line is built. Each returns the name unchanged so calls read as
 * `['name', interfaceName(x)]`.
 */

export type NameKind = 'interface' | 'jail' | 'network' | 'anchor' | 'table' | 'group';

export class InvalidNameError extends Error {
  readonly kind: NameKind;
  readonly value: string;
  readonly cniCode: number = CniCode.InvalidNetworkConfig;
  constructor(kind: NameKind, value: unknown, rule: string) {
    const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value) : `a ${value === null ? 'null' : typeof value}`;
    super(`invalid ${kind} name ${shown}: ${rule}`);
    this.name = 'InvalidNameError';
    this.kind = kind;
    this.value = typeof value === 'string' ? value : String(value);
  }
}

/** IFNAMSIZ is 16 on FreeBSD: 15 characters and the terminating NUL. */
export const IFNAME_MAX = 15;
/** MAXHOSTNAMELEN - 1; jail(8) names are limited the same way. */
export const JAIL_NAME_MAX = 255;
export const NETWORK_NAME_MAX = 48;
/** PF_ANCHOR_NAME_SIZE is 64 per path component; MAXPATHLEN for the whole path. */
export const ANCHOR_COMPONENT_MAX = 63;
export const ANCHOR_PATH_MAX = 1023;
/** PF_TABLE_NAME_SIZE is 32. */
export const TABLE_NAME_MAX = 31;

const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function check(kind: NameKind, value: unknown, max: number, pattern: RegExp, rule: string): string {
  if (typeof value !== 'string') throw new InvalidNameError(kind, value, 'must be a string');
  if (value.length === 0) throw new InvalidNameError(kind, value, 'must not be empty');
  if (value.length > max) throw new InvalidNameError(kind, value, `is longer than ${max} characters`);
  if (!pattern.test(value)) throw new InvalidNameError(kind, value, rule);
  if (value.includes('..')) throw new InvalidNameError(kind, value, 'must not contain ".."');
  return value;
}

/** An interface name: letter first, then letters, digits, "_", "." or "-"; at most 15. */
export function interfaceName(value: unknown): string {
  return check('interface', value, IFNAME_MAX, /^[A-Za-z][A-Za-z0-9_.-]*$/, 'must start with a letter and hold only letters, digits, "_", "." and "-"');
}

/**
 * A jail name or JID as jail(8), jexec(8), jls(8) and `ifconfig -j` accept it. Dots are allowed
 * (they separate hierarchical jails); a name of digits only is read as a JID by FreeBSD.
 */
export function jailName(value: unknown): string {
  return check('jail', value, JAIL_NAME_MAX, PLAIN, 'must start with a letter, digit or "_" and hold only letters, digits, "_", "." and "-"');
}

/** A CNI network name (libcni's rule), bounded so it fits in anchor and file names. */
export function networkName(value: unknown): string {
  return check('network', value, NETWORK_NAME_MAX, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must start with a letter or digit and hold only letters, digits, "_", "." and "-"');
}

/**
 * A pf anchor path: components of letters, digits, "_", "." and "-" separated by "/";
 * with `allowWildcard`, the last component may be "*" (the `"name/*"` hook form).
 */
export function anchorName(value: unknown, allowWildcard = false): string {
  if (typeof value !== 'string') throw new InvalidNameError('anchor', value, 'must be a string');
  if (value.length === 0 || value.length > ANCHOR_PATH_MAX) throw new InvalidNameError('anchor', value, `must have 1 to ${ANCHOR_PATH_MAX} characters`);
  const parts = value.split('/');
  parts.forEach((part, i) => {
    if (allowWildcard && part === '*' && i === parts.length - 1 && i > 0) return;
    if (part.length === 0 || part.length > ANCHOR_COMPONENT_MAX || !PLAIN.test(part) || part === '.' || part.includes('..')) {
      throw new InvalidNameError('anchor', value, `each "/"-separated part must have 1 to ${ANCHOR_COMPONENT_MAX} letters, digits, "_", "." or "-"`);
    }
  });
  return value;
}

/** A pf table name: at most 31 characters. */
export function tableName(value: unknown): string {
  return check('table', value, TABLE_NAME_MAX, /^[A-Za-z_][A-Za-z0-9_.-]*$/, 'must start with a letter or "_" and hold only letters, digits, "_", "." and "-"');
}

/** An interface group name: like an interface name, but it must not end in a digit (ifconfig(8)). */
export function groupName(value: unknown): string {
  return check('group', value, IFNAME_MAX, /^[A-Za-z][A-Za-z0-9_.-]*[A-Za-z_.-]$|^[A-Za-z]$/, 'must start with a letter, hold only letters, digits, "_", "." and "-", and not end in a digit');
}
