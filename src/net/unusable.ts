import { FAMILY_BITS, maskOf, parseAddress, parseCidr, type Family } from './address';

/**
 * What jailnet refuses to hand to a jail or to put on a host interface, decided without asking
 * the host: the one place for these rules, used by jailnetd (range resolution), the IPAM plugin,
 * the link plugins (whatever IPAM answered) and the CLI. Each function returns why a value is
 * refused, or undefined when it is usable.
 */

interface Block {
  family: Family;
  network: bigint;
  prefix: number;
  what: string;
}

function block(cidr: string, what: string): Block {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`bad built-in block ${cidr}`);
  return { family: c.address.family, network: c.address.value, prefix: c.prefix, what };
}

/** Special-purpose blocks (RFC 6890) no jail network may touch. */
const RESERVED: Block[] = [
  block('0.0.0.0/8', '"this network" (0.0.0.0/8)'),
  block('127.0.0.0/8', 'loopback (127.0.0.0/8)'),
  block('169.254.0.0/16', 'link-local (169.254.0.0/16)'),
  block('224.0.0.0/4', 'multicast (224.0.0.0/4)'),
  block('240.0.0.0/4', 'reserved, with the broadcast address (240.0.0.0/4)'),
  block('::/96', 'the unspecified, loopback and IPv4-compatible addresses (::/96)'),
  block('::ffff:0:0/96', 'IPv4-mapped (::ffff:0:0/96)'),
  block('fe80::/10', 'link-local (fe80::/10)'),
  block('ff00::/8', 'multicast (ff00::/8)'),
];

function overlaps(family: Family, network: bigint, prefix: number, b: Block): boolean {
  if (family !== b.family) return false;
  const p = Math.min(prefix, b.prefix);
  const m = maskOf(family, p);
  return (network & m) === (b.network & m);
}

/** Why a subnet ("10.88.0.0/16") cannot be a jail network: a default route, or a special block. */
export function subnetRefusal(subnet: string): string | undefined {
  const c = parseCidr(subnet);
  if (!c) return `${subnet} is not a subnet`;
  if (c.prefix === 0) return `${subnet} is the default route: a network there would take every address`;
  const hit = RESERVED.find((b) => overlaps(c.address.family, c.address.value, c.prefix, b));
  return hit ? `${subnet} overlaps the ${hit.what} block` : undefined;
}

/** Why an address ("10.88.0.5") cannot be a jail's or a gateway's. */
export function addressRefusal(address: string): string | undefined {
  const a = parseAddress(address);
  if (!a) return `${address} is not an address`;
  const hit = RESERVED.find((b) => overlaps(a.family, a.value, FAMILY_BITS[a.family], b));
  return hit ? `${address} is in the ${hit.what} block` : undefined;
}

/**
 * Why `gateway` cannot be the gateway of `subnet`: outside it, or its network or (IPv4)
 * broadcast address.
 */
export function gatewayRefusal(gateway: string, subnet: string): string | undefined {
  const g = parseAddress(gateway);
  const c = parseCidr(subnet);
  if (!g || !c) return `${gateway} is not an address in ${subnet}`;
  if (g.family !== c.address.family) return `gateway ${gateway} is not of the family of ${subnet}`;
  const mask = maskOf(g.family, c.prefix);
  const network = c.address.value & mask;
  if ((g.value & mask) !== network) return `gateway ${gateway} is outside the subnet ${subnet}`;
  if (c.prefix < FAMILY_BITS[g.family] - 1) {
    if (g.value === network) return `gateway ${gateway} is the network address of ${subnet}`;
    const last = network | (~mask & ((1n << BigInt(FAMILY_BITS[g.family])) - 1n));
    if (g.family === 4 && g.value === last) return `gateway ${gateway} is the broadcast address of ${subnet}`;
  }
  return addressRefusal(gateway);
}

/** Why a MAC ("02:00:00:00:00:01") cannot be an interface's: multicast (or broadcast), or all zeros. */
export function macRefusal(mac: string): string | undefined {
  if (/^(00:){5}00$/i.test(mac)) return 'must not be 00:00:00:00:00:00';
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) return 'must be unicast (the lowest bit of the first byte clear)';
  return undefined;
}

/** Why CNI_IFNAME cannot name the jail's interface: lo0 is the jail's loopback. */
export function jailIfnameRefusal(ifname: string): string | undefined {
  return ifname === 'lo0' ? '"lo0" is the jail\'s loopback interface' : undefined;
}

/** Why a CNI_NETNS cannot name the jail: JID 0 is the host itself (prison0). */
export function jailRefusal(jail: string): string | undefined {
  return /^0+$/.test(jail) ? `"${jail}" is JID 0, the host itself, not a jail` : undefined;
}
