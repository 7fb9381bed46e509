import type { Answer, RecordType } from 'dns-packet';
import { formatAddress, parseAddress, type Address } from '../net/address';
import { inSubnet } from '../net/cidr';
import type { Lease } from '../ipam/lease';
import type { IpamState, LeaseObserver } from '../ipam/state';
import { canonicalName, networkDomain } from './names';

/**
 * The names of jailnetd's DNS server: an index of the leases that use it (Lease.names), kept by
 * IpamState's observer (so it is rebuilt from the journal at every start), and what the server
 * answers from it, per network: each network's names are answered only to its own jails.
 *
 * - `NAME` and `NAME.DOMAIN` (DOMAIN: the network's `dns.domain`, default its name): A and AAAA
 *   of every attachment holding the name, so a name several jails share (an alias) gives all of
 *   their addresses, in address order. Other types of a known name: no data.
 * - Any name under the domain of any jailnet network that the asking network does not hold:
 *   NXDOMAIN, authoritative, never forwarded (another network's names stay unknown to it).
 * - PTR of an address of the asking network: the first name of its holder, `NAME.DOMAIN`; an
 *   address of a jailnet network without a named holder there: NXDOMAIN.
 * - Everything else is forwarded (daemon/dns/forwarder.ts).
 */

/** TTL of local answers: short, since a name goes with its attachment and an address is given out again. */
export const LOCAL_TTL = 5;

interface NetworkNames {
  /** name -> the leases holding it (by key). */
  names: Map<string, Map<string, Lease>>;
  /** Attachments that use the DNS server. */
  attachments: number;
  /** Gateway address -> how many of those attachments have it. */
  gateways: Map<string, number>;
}

export type LocalAnswer =
  | { kind: 'answer'; rcode: 'NOERROR' | 'NXDOMAIN'; answers: Answer[] }
  | { kind: 'forward' };

export class NameIndex implements LeaseObserver {
  private readonly byNetwork = new Map<string, NetworkNames>();
  /** jail -> network -> its attachments there that use the server: a jail on several networks gets the names of each. */
  private readonly jails = new Map<string, Map<string, number>>();
  /** Names other hosts of a cluster network publish (docs/cluster.md): network -> name -> addresses. */
  private readonly remote = new Map<string, Map<string, string[]>>();
  /** Told (synchronously) when a network's attachments or gateways change: the server binds or unbinds. */
  onGatewaysChanged: ((network: string) => void) | undefined;

  constructor(private readonly state: IpamState) {}

  leaseAdded(lease: Lease): void {
    if (!lease.names) return;
    const net = this.network(lease.network);
    const key = leaseKeyOf(lease);
    for (const name of lease.names) {
      let holders = net.names.get(name);
      if (!holders) net.names.set(name, (holders = new Map()));
      holders.set(key, lease);
    }
    net.attachments++;
    const jail = jailOf(lease);
    const nets = this.jails.get(jail) ?? new Map<string, number>();
    nets.set(lease.network, (nets.get(lease.network) ?? 0) + 1);
    this.jails.set(jail, nets);
    let changed = net.attachments === 1;
    for (const gw of gatewaysOf(lease)) {
      const n = net.gateways.get(gw) ?? 0;
      net.gateways.set(gw, n + 1);
      if (n === 0) changed = true;
    }
    if (changed) this.onGatewaysChanged?.(lease.network);
  }

  leaseRemoved(lease: Lease): void {
    if (!lease.names) return;
    const net = this.byNetwork.get(lease.network);
    if (!net) return;
    const key = leaseKeyOf(lease);
    for (const name of lease.names) {
      const holders = net.names.get(name);
      if (holders?.get(key) !== lease) continue;
      holders.delete(key);
      if (holders.size === 0) net.names.delete(name);
    }
    net.attachments--;
    const jail = jailOf(lease);
    const nets = this.jails.get(jail);
    const left = (nets?.get(lease.network) ?? 1) - 1;
    if (left > 0) nets?.set(lease.network, left);
    else nets?.delete(lease.network);
    if (nets?.size === 0) this.jails.delete(jail);
    let changed = net.attachments === 0;
    for (const gw of gatewaysOf(lease)) {
      const n = (net.gateways.get(gw) ?? 1) - 1;
      if (n > 0) net.gateways.set(gw, n);
      else {
        net.gateways.delete(gw);
        changed = true;
      }
    }
    if (net.attachments === 0) this.byNetwork.delete(lease.network);
    if (changed) this.onGatewaysChanged?.(lease.network);
  }

  /** Replaces the names other hosts hold on a cluster network (from etcd). */
  setRemoteNames(network: string, names: Map<string, string[]>): void {
    if (names.size === 0) this.remote.delete(network);
    else this.remote.set(network, names);
  }

  private hasName(network: string, name: string): boolean {
    return (this.byNetwork.get(network)?.names.has(name) ?? false) || (this.remote.get(network)?.has(name) ?? false);
  }

  private network(name: string): NetworkNames {
    let net = this.byNetwork.get(name);
    if (!net) this.byNetwork.set(name, (net = { names: new Map(), attachments: 0, gateways: new Map() }));
    return net;
  }

  /** Networks with attachments that use the DNS server. */
  networks(): string[] {
    return [...this.byNetwork.keys()];
  }

  /** The gateway addresses the server listens on for the network (none when nothing uses it). */
  gateways(network: string): string[] {
    return [...(this.byNetwork.get(network)?.gateways.keys() ?? [])].sort();
  }

  attachments(network: string): number {
    return this.byNetwork.get(network)?.attachments ?? 0;
  }

  /** The network's names with their addresses, for the API (GET /v1/dns). */
  records(network: string): { name: string; addresses: string[] }[] {
    const net = this.byNetwork.get(network);
    if (!net) return [];
    const names = new Set([...net.names.keys(), ...(this.remote.get(network)?.keys() ?? [])]);
    return [...names].sort().map((name) => ({ name, addresses: this.addressesOf(network, name, 0) }));
  }

  /** The domain of a network's names. */
  domain(network: string): string | undefined {
    return networkDomain(network, this.state.networks.get(network)?.domain);
  }

  /**
   * The networks whose names a client may have, the network it asked through first: the
   * networks where its jail has attachments that use the server.
   */
  networksOfClient(network: string, client: Lease): string[] {
    return [network, ...[...(this.jails.get(jailOf(client))?.keys() ?? [])].filter((n) => n !== network).sort()];
  }

  /** The jail lease holding `address` on `network`, if any: who may ask this network's gateway. */
  holder(network: string, address: string): Lease | undefined {
    return this.state.networks.get(network)?.holderOf(address);
  }

  /** Addresses of a name on a network, IPv4 then IPv6, each in numeric order; `family` 0 for both. */
  addressesOf(network: string, name: string, family: 0 | 4 | 6): string[] {
    const holders = this.byNetwork.get(network)?.names.get(name);
    const found: Address[] = [];
    const take = (text: string) => {
      const a = parseAddress(text);
      if (a && (family === 0 || a.family === family) && !found.some((f) => f.family === a.family && f.value === a.value)) found.push(a);
    };
    for (const lease of holders?.values() ?? []) for (const ip of lease.ips) take(ip.address);
    for (const address of this.remote.get(network)?.get(name) ?? []) take(address);
    found.sort((x, y) => x.family - y.family || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
    return found.map((a) => formatAddress(a.family, a.value));
  }

  /**
   * What the server answers to a question from a jail on `networks` (the one it asked through
   * first), or 'forward'. `qname` is as the jail asked it (answers repeat it, case and all).
   */
  answer(networks: readonly string[], qname: string, qtype: RecordType | string): LocalAnswer {
    const name = canonicalName(qname);
    const reverse = reverseAddress(name);
    if (reverse !== undefined) return this.answerReverse(networks, qname, reverse, qtype === 'PTR' || qtype === 'ANY');
    const under = this.domainOf(networks, name);
    if (under === 'foreign') return nx();
    const candidates = under ? [under] : networks.map((network) => ({ network, local: name }));
    for (const { network, local } of candidates) {
      if (local === '') return { kind: 'answer', rcode: 'NOERROR', answers: [] };
      if (!this.hasName(network, local)) continue;
      const family = qtype === 'A' ? 4 : qtype === 'AAAA' ? 6 : qtype === 'ANY' ? 0 : undefined;
      if (family === undefined) return { kind: 'answer', rcode: 'NOERROR', answers: [] };
      const answers = this.addressesOf(network, local, family).map((data): Answer => ({ type: data.includes(':') ? 'AAAA' : 'A', name: qname, ttl: LOCAL_TTL, class: 'IN', data }));
      return { kind: 'answer', rcode: 'NOERROR', answers };
    }
    return under ? nx() : { kind: 'forward' };
  }

  /**
   * For a name under a jailnet network's domain (the longest that matches): the client's
   * network of that domain and the part before it ('' for the domain itself), or 'foreign' when
   * the client is on no network with that domain; undefined for a name under none.
   */
  private domainOf(networks: readonly string[], name: string): { network: string; local: string } | 'foreign' | undefined {
    let best: string | undefined;
    for (const other of new Set([...networks, ...this.byNetwork.keys()])) {
      const domain = this.domain(other);
      if (!domain || (name !== domain && !name.endsWith(`.${domain}`))) continue;
      if (best === undefined || domain.length > best.length) best = domain;
    }
    if (best === undefined) return undefined;
    const mine = networks.find((n) => this.domain(n) === best);
    if (mine === undefined) return 'foreign';
    return { network: mine, local: name === best ? '' : name.slice(0, name.length - best.length - 1) };
  }

  private answerReverse(networks: readonly string[], qname: string, address: string, ptr: boolean): LocalAnswer {
    const scope = this.addressScope(networks, address);
    if (scope === 'outside') return { kind: 'forward' };
    if (scope === 'foreign') return nx();
    const names = this.holder(scope, address)?.names;
    if (!names?.length) return nx();
    if (!ptr) return { kind: 'answer', rcode: 'NOERROR', answers: [] };
    const domain = this.domain(scope);
    const target = domain ? `${names[0]}.${domain}` : (names[0] as string);
    return { kind: 'answer', rcode: 'NOERROR', answers: [{ type: 'PTR', name: qname, ttl: LOCAL_TTL, class: 'IN', data: target }] };
  }

  /** Which of the client's networks an address belongs to, 'foreign' for another jailnet network's, 'outside' for none. */
  private addressScope(networks: readonly string[], address: string): string | 'foreign' | 'outside' {
    let scope = 'outside';
    for (const pool of this.state.networks.values()) {
      if (!pool.rangesConfig.some((set) => set.some((r) => inSubnet(address, r.subnet)))) continue;
      if (networks.includes(pool.name)) return pool.name;
      scope = 'foreign';
    }
    return scope;
  }
}
function nx(): LocalAnswer {
  return { kind: 'answer', rcode: 'NXDOMAIN', answers: [] };
}

function jailOf(l: Lease): string {
  return l.jail || l.containerID;
}

function leaseKeyOf(l: Lease): string {
  return [l.network, l.containerID, l.ifname].join('/');
}

function gatewaysOf(lease: Lease): string[] {
  return [...new Set(lease.ips.flatMap((ip) => (ip.gateway ? [ip.gateway] : [])))];
}

/** The address a reverse name (`d.c.b.a.in-addr.arpa`, nibbles `.ip6.arpa`) stands for, if it is a whole one. */
export function reverseAddress(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    return formatAddress(6, BigInt(`0x${nibbles.reverse().join('')}`));
  }
  return undefined;
}
