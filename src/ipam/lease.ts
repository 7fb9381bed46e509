/**
 * A lease: the addresses one attachment (network, container ID, interface) holds. Attachments
 * are the unit of CNI: ADD, DEL, CHECK and GC's valid-attachments all name them.
 */

export interface LeaseIp {
  /** Canonical address text, without prefix. */
  address: string;
  /** Prefix length of the subnet it was allocated from. */
  prefix: number;
  gateway?: string;
  /** Asked for by the runtime (runtimeConfig.ips, args.cni.ips, CNI_ARGS IP=) rather than picked. */
  static: boolean;
}

export interface Lease {
  network: string;
  containerID: string;
  ifname: string;
  /**
   * The jail the attachment was made for (CNI_NETNS: a jail name or JID), checked by the
   * reclaim loop. Absent when the client did not say; the container ID is used then, which is
   * the jail name under runj.
   */
  jail?: string;
  ips: LeaseIp[];
  /** Milliseconds since the epoch. */
  createdAt: number;
  /**
   * The names jailnetd's DNS server answers for the attachment on its network (canonical, the
   * first one is what PTR gives; src/dns/names.ts). Undefined when the attachment does not use
   * the network's DNS server (another IPAM client, or DNS turned off): its gateway is then not
   * served for it either. An empty list still uses the server (forwarding) without names.
   */
  names?: string[];
}

/** Network names, container IDs and interface names never contain "/", so this is unambiguous. */
export function attachmentKey(network: string, containerID: string, ifname: string): string {
  // join() makes one flat string; a template literal would keep a rope of its parts as well.
  return [network, containerID, ifname].join('/');
}

export function leaseKey(l: Pick<Lease, 'network' | 'containerID' | 'ifname'>): string {
  return attachmentKey(l.network, l.containerID, l.ifname);
}

/** The jail whose existence keeps the attachment alive. */
export function jailOf(l: { jail?: string; containerID: string }): string {
  return l.jail || l.containerID;
}

export function cidrOf(ip: LeaseIp): string {
  return `${ip.address}/${ip.prefix}`;
}
