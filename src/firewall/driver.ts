import type { NetworkIngress } from './holdings';
import type { DnsAccess } from '../pf/dns-rules';
import type { AttachmentId, PortForward } from './intent';

/**
 * The firewall boundary (netavark's firewall driver): set up and tear down a network's NAT, add
 * and remove an attachment's NAT membership and port forwards, set up and tear down a network's
 * ingress rules (the firewall plugin's ingressPolicy), and list what is installed, so
 * that what belongs to attachments that are gone can be removed. jailnetd is its only caller
 * (daemon/firewall.ts): it records who holds what, serialises the changes of one network, and
 * decides the order; a driver only renders and applies. pf is the one backend (pf.ts).
 */
/** Kinds of rules: address translation (NAT), redirects (published ports), filter (ingress policy). */
export type RuleKind = 'nat' | 'rdr' | 'filter';

export interface FirewallDriver {
  readonly name: string;

  /**
   * Whether the backend carries rules of these kinds now (pf: enabled, and the main ruleset
   * hooks jailnet's anchors); what is wrong and how to fix it, or undefined when ready.
   */
  readiness(kinds: readonly RuleKind[]): Promise<{ message: string; fix: string } | undefined>;

  /**
   * Adds addresses to the network's NAT table (the network has members already: its first ones
   * go through setupNetworkNat). When the table was not there (the NAT was flushed behind
   * jailnet's back) the network's NAT rule is loaded with `egress()`'s interface and `true` is
   * returned; if that fails, the table is removed again.
   */
  addNatMembers(network: string, addresses: readonly string[], egress: () => Promise<string>): Promise<boolean>;
  /**
   * Sets the network's NAT up with exactly these members: rule (through `egress()`'s interface)
   * and table in one atomic change, for when the caller knows that none of the network's members
   * is installed. A table already there (left by hand) ends up holding exactly `addresses`. On
   * failure nothing has changed.
   */
  setupNetworkNat(network: string, addresses: readonly string[], egress: () => Promise<string>): Promise<void>;
  removeNatMembers(network: string, addresses: readonly string[]): Promise<void>;
  /** Removes the network's NAT rule and table. */
  teardownNetworkNat(network: string): Promise<void>;
  /** The addresses in the network's NAT table (installed, whoever put them there). */
  natMembers(network: string): Promise<string[]>;
  /** What is missing for `addresses` to be translated (the rule, table entries), or undefined. */
  natDifference(network: string, addresses: readonly string[]): Promise<{ message: string; fix: string } | undefined>;

  /** Installs (or replaces, atomically) an attachment's port forwards. */
  setPortForward(fwd: PortForward, externalInterface: string | undefined): Promise<void>;
  /** Removes an attachment's port forwards; succeeds when there are none. */
  removePortForward(id: AttachmentId): Promise<void>;
  /** What differs between the installed forwards and `fwd` (undefined when they match). */
  portForwardDifference(fwd: PortForward, externalInterface: string | undefined): Promise<string | undefined>;
  /** The network's installed forwards that belong to none of `keep` (by handle, for removeForwardHandle). */
  staleForwards(network: string, keep: readonly AttachmentId[]): Promise<string[]>;
  removeForwardHandle(handle: string): Promise<void>;

  /** Loads (or replaces, atomically) a network's ingress rules. */
  setupIngress(network: string, rules: NetworkIngress): Promise<void>;
  /** Removes a network's ingress rules; succeeds when there are none. */
  teardownIngress(network: string): Promise<void>;
  /** What differs between the installed ingress rules and `rules` (undefined when they match). */
  ingressDifference(network: string, rules: NetworkIngress): Promise<string | undefined>;
  /** Lets the network's jails reach the DNS server on its gateways (replaces what was there). */
  setDnsAccess(network: string, access: DnsAccess): Promise<void>;
  /** Removes the network's DNS rules; succeeds when there are none. */
  removeDnsAccess(network: string): Promise<void>;
}
