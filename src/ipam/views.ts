import type { LeaseView, PortReservationView } from './api-types';
import { cidrOf, type Lease } from './lease';
import type { PortReservation } from './ports';

/** The API's JSON shapes of leases and reservations. */

export function leaseView(l: Lease, inRange: boolean): LeaseView {
  const v: LeaseView = {
    network: l.network,
    containerID: l.containerID,
    ifname: l.ifname,
    ips: l.ips.map((ip) => (ip.gateway ? { address: cidrOf(ip), gateway: ip.gateway, static: ip.static } : { address: cidrOf(ip), static: ip.static })),
    createdAt: new Date(l.createdAt).toISOString(),
    inRange,
  };
  if (l.jail) v.jail = l.jail;
  return v;
}

export function portsView(p: PortReservation): PortReservationView {
  const v: PortReservationView = { network: p.network, containerID: p.containerID, ifname: p.ifname, ports: p.entries.map((e) => ({ ...e })) };
  if (p.jail) v.jail = p.jail;
  return v;
}

/** A bigint count as a JSON number (exact up to 2^53). */
export function countOf(n: bigint): number {
  return Number(n);
}
