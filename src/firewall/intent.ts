import type { PortMapping } from '../portmap/mappings';
import type { PublishTarget } from '../portmap/plan';

/**
 * What an attachment wants from the firewall, as data (netavark's SetupNetwork /
 * PortForwardConfig): jailnetd records these, a driver (driver.ts, pf.ts) renders and applies
 * them. Nothing here touches the host, so rules can be rendered and tested without one.
 */

/** The attachment a piece of firewall state belongs to (CNI's unit: network, container, ifname). */
export interface AttachmentId {
  network: string;
  containerID: string;
  ifname: string;
}

/** An attachment's outbound NAT: its IPv4 addresses in the network's NAT table. */
export interface NatMembership extends AttachmentId {
  /** Canonical IPv4 addresses, without prefix. */
  addresses: string[];
  /** The interface NAT translates to; the IPv4 default route's when absent. */
  egressInterface?: string;
}

/** An attachment's published ports: the mappings, the jail's addresses and bridge. */
export interface PortForward extends AttachmentId {
  mappings: PortMapping[];
  target: PublishTarget;
  /** The interface whose addresses publish mappings without hostIP; the default route's when absent. */
  externalInterface?: string;
  /** Hairpin NAT for neighbours on the bridge (the reference portmap's `snat`). */
  snat: boolean;
  /** A userland proxy in jailnetd serves connections that start on the host itself. */
  userlandProxy: boolean;
}

/** Who may open connections to a network's jails (the reference firewall plugin's ingressPolicy; `open` needs no rules). */
export type IngressPolicy = 'same-bridge' | 'isolated';

/** A subnet of the network the attachment has an address in, with the gateway the jails use. */
export interface IngressSubnet {
  cidr: string;
  gateway?: string;
}

/** An attachment's ingress policy: the network's bridge and the subnets its addresses are in. */
export interface IngressRule extends AttachmentId {
  policy: IngressPolicy;
  bridge: string;
  subnets: IngressSubnet[];
}

export function sameAttachment(a: AttachmentId, b: AttachmentId): boolean {
  return a.network === b.network && a.containerID === b.containerID && a.ifname === b.ifname;
}
