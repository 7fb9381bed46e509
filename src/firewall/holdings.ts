import { attachmentKey } from '../ipam/lease';
import type { AttachmentId, IngressPolicy, IngressRule, IngressSubnet, PortForward } from './intent';

/**
 * What jailnetd records about the firewall state each attachment holds (pure, synchronous, like
 * the lease and port tables): NAT membership per attachment, with an index of which attachments
 * hold an address of a network (so that a stale DEL, or one of two holders leaving, never
 * takes an address out of the table that another attachment still holds), and port forwards.
 */

export interface NatHolding extends AttachmentId {
  jail?: string;
  /** Canonical IPv4 addresses. */
  addresses: string[];
  egressInterface?: string;
  /** When the holding was recorded (ms); the jail check does not judge holdings newer than its jail list. */
  at: number;
}

export interface ForwardHolding extends PortForward {
  jail?: string;
  at: number;
}

export interface IngressHolding extends IngressRule {
  jail?: string;
  at: number;
}

/** What a network's ingress anchor holds: the union of its attachments' rules. */
export interface NetworkIngress {
  bridge: string;
  policy: IngressPolicy;
  subnets: IngressSubnet[];
}

/**
 * The union of a network's ingress holdings: the strictest policy any attachment asked for
 * (attachments added under an older network file keep theirs until they go) and every subnet,
 * with the bridge of the latest. Undefined when no attachment holds one.
 */
export function networkIngress(holdings: Iterable<IngressHolding>, network: string): NetworkIngress | undefined {
  let out: NetworkIngress | undefined;
  let latest = -1;
  for (const h of holdings) {
    if (h.network !== network) continue;
    out ??= { bridge: h.bridge, policy: h.policy, subnets: [] };
    if (h.at >= latest) {
      out.bridge = h.bridge;
      latest = h.at;
    }
    if (h.policy === 'isolated') out.policy = 'isolated';
    for (const s of h.subnets) {
      const same = out.subnets.find((x) => x.cidr === s.cidr);
      if (!same) out.subnets.push({ ...s });
      else if (same.gateway === undefined && s.gateway !== undefined) same.gateway = s.gateway;
    }
  }
  out?.subnets.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
  return out;
}

export class NatTable {
  readonly holdings = new Map<string, NatHolding>();
  /** network -> address -> attachment keys holding it. */
  private readonly holders = new Map<string, Map<string, Set<string>>>();

  put(h: NatHolding): void {
    const key = attachmentKey(h.network, h.containerID, h.ifname);
    this.delete(key);
    this.holdings.set(key, h);
    let byAddress = this.holders.get(h.network);
    if (!byAddress) this.holders.set(h.network, (byAddress = new Map()));
    for (const a of h.addresses) {
      let keys = byAddress.get(a);
      if (!keys) byAddress.set(a, (keys = new Set()));
      keys.add(key);
    }
  }

  delete(key: string): NatHolding | undefined {
    const h = this.holdings.get(key);
    if (!h) return undefined;
    this.holdings.delete(key);
    const byAddress = this.holders.get(h.network);
    for (const a of h.addresses) {
      const keys = byAddress?.get(a);
      keys?.delete(key);
      if (keys?.size === 0) byAddress?.delete(a);
    }
    if (byAddress?.size === 0) this.holders.delete(h.network);
    return h;
  }

  /** Attachments (keys) that hold `address` in the network's NAT. */
  holdersOf(network: string, address: string): ReadonlySet<string> {
    return this.holders.get(network)?.get(address) ?? new Set();
  }

  /** Every address some attachment holds in the network's NAT. */
  members(network: string): string[] {
    return [...(this.holders.get(network)?.keys() ?? [])];
  }

  hasMembers(network: string): boolean {
    return this.holders.has(network);
  }
}
