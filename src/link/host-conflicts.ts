import { CniCode, CniError } from '../cni/errors';
import { listInterfaces } from '../freebsd/ifconfig';
import { listRoutes } from '../freebsd/netstat';
import { routeDestination } from '../freebsd/parse/netstat';
import { maskOf, parseAddress, parseCidr, type Family } from '../net/address';
import { networkCidr } from '../net/cidr';
import { BRIDGE_GROUP, HOST_END_GROUP } from './naming';

/**
 * Whether a jail network would take addresses or routes the host itself uses: em0's subnet,
 * the default router, a static route. Read once from the host (`ifconfig` and `netstat -rnW`:
 * two commands) and compared with pure code. jailnet's own interfaces (the bridges of group
 * `jailnet`, the host ends of group `jailnet_host`) and lo0 (the host's local addresses and
 * FreeBSD's reject routes) do not count: a network's bridge holds its own gateway.
 */

export interface HostNetworks {
  /** Addresses of the host's own interfaces: interface and "address/prefix". */
  addresses: { iface: string; cidr: string }[];
  /** Routes through the host's own interfaces: destination, gateway when it is an address. */
  routes: { iface: string; destination: string; prefix: number; family: Family; gateway?: string }[];
}

export async function readHostNetworks(): Promise<HostNetworks> {
  const interfaces = await listInterfaces();
  const routes = await listRoutes();
  const ours = new Set(interfaces.filter((i) => i.groups.includes(BRIDGE_GROUP) || i.groups.includes(HOST_END_GROUP)).map((i) => i.name));
  const foreign = (name: string) => !ours.has(name) && name !== 'lo0';
  const out: HostNetworks = { addresses: [], routes: [] };
  for (const i of interfaces.filter((x) => foreign(x.name))) {
    for (const a of [...i.inet, ...i.inet6]) out.addresses.push({ iface: i.name, cidr: `${a.address.split('%')[0] as string}/${a.prefixlen}` });
  }
  for (const r of routes.filter((x) => foreign(x.netif))) {
    const d = routeDestination(r);
    const gw = r.gateway.startsWith('link#') ? undefined : (r.gateway.split('%')[0] as string);
    out.routes.push({ iface: r.netif, destination: r.destination, prefix: d.prefix, family: r.family, ...(gw ? { gateway: gw } : {}) });
  }
  return out;
}

function contains(network: bigint, prefix: number, family: Family, value: bigint): boolean {
  const m = maskOf(family, prefix);
  return (value & m) === (network & m);
}

/**
 * Why `subnet` ("10.88.0.0/16") would take something of the host's, or undefined: it overlaps
 * the subnet of one of the host's addresses, holds the gateway of one of its routes (the default
 * router), or overlaps the destination of one of its routes other than the default route.
 * `ownInterface` (the network's bridge, even one made by hand) does not count.
 */
export function hostConflict(subnet: string, host: HostNetworks, ownInterface?: string): string | undefined {
  const c = parseCidr(subnet);
  if (!c) return undefined;
  const { family, value } = c.address;
  const overlaps = (other: string) => {
    const o = parseCidr(other);
    return o !== undefined && o.address.family === family && contains(value, Math.min(c.prefix, o.prefix), family, o.address.value);
  };
  for (const a of host.addresses) {
    if (a.iface === ownInterface) continue;
    if (overlaps(a.cidr)) return `${subnet} overlaps the network of ${a.iface}'s address ${a.cidr}`;
  }
  for (const r of host.routes) {
    if (r.iface === ownInterface) continue;
    const gw = r.gateway !== undefined ? parseAddress(r.gateway) : undefined;
    if (gw && gw.family === family && contains(value, c.prefix, family, gw.value)) {
      return `${subnet} holds ${r.gateway}, the host's ${r.prefix === 0 ? 'default router' : `gateway to ${r.destination}`} (through ${r.iface})`;
    }
    const dst = routeDestination({ family: r.family, destination: r.destination, gateway: '', flags: '', netif: r.iface });
    if (r.prefix > 0 && overlaps(`${dst.address}/${dst.prefix}`)) return `${subnet} overlaps the host's route to ${r.destination} (through ${r.iface})`;
  }
  return undefined;
}

/** How to fix a conflict, for error details. */
export const HOST_CONFLICT_HINT = 'choose a subnet the host does not use (see `ifconfig` and `netstat -rn`): a jail network there would take the host\'s own addresses or routes';

/** Refuses (code 7) subnets of `network` that take something of the host's; reads the host once. */
export async function requireNoHostConflict(network: string, cidrs: readonly string[], ownInterface?: string): Promise<void> {
  if (cidrs.length === 0) return;
  const host = await readHostNetworks();
  for (const subnet of [...new Set(cidrs.map(networkCidr))]) {
    const conflict = hostConflict(subnet, host, ownInterface);
    if (conflict) throw new CniError(CniCode.InvalidNetworkConfig, `network ${network}: ${conflict}`, HOST_CONFLICT_HINT);
  }
}
