import { CniError } from '../src/cni/errors';
import type { FirewallDriver, RuleKind } from '../src/firewall/driver';
import { networkIngress, type ForwardHolding, type IngressHolding, type NatHolding } from '../src/firewall/holdings';
import type { AttachmentId, IngressRule, PortForward } from '../src/firewall/intent';
import { defaultRouteInterface } from '../src/freebsd/route';
import { CommandError } from '../src/freebsd/exec';
import type { ForwardView, NatView, PortEntryView } from '../src/ipam/api-types';
import { IpamError } from '../src/ipam/errors';
import { attachmentKey, type Lease } from '../src/ipam/lease';
import { normalizePortEntry, type PortEntry, type PortReservation } from '../src/ipam/ports';
import { forwardToRecord, ingressToRecord, natToRecord, portsToRecord, type StateRecord } from '../src/ipam/records';
import { renderIngressRules } from '../src/pf/ingress-rules';
import type { IpamState } from '../src/ipam/state';
import { destroyHostEnd, destroyHostEndOf, staleHostEnds } from '../src/link/host-ends';
import { hostEndName } from '../src/link/naming';
import { log } from '../src/log/logger';
import { addressOf } from '../src/net/cidr';
import { describeMapping, reservationEntries } from '../src/portmap/mappings';
import { checkPublishable, needsExternalInterface } from '../src/portmap/plan';
import { renderPortForward } from '../src/firewall/pf';
import { describeListen, type ProxySpec, type UserlandProxy } from './proxy';

/**
 * The one owner of everything an attachment holds besides its lease: NAT membership, port
 * forwards (pf rules and the userland proxy's sockets), its network's ingress policy and, when it is torn down, its host
 * interface. Every change is recorded durably before it is applied (the records may claim more
 * than is installed, never less, so a crash leaves nothing without an owner), and the changes
 * of one network run one at a time, in this process (the NAT table is per network).
 *
 * Teardown, for CNI GC, the jail check and a lease's release, always goes in one order, per
 * attachment: pf rules and table entries (and the proxy), then the host interface, then the
 * lease and host ports. A step that fails leaves the later ones undone for that attachment, so
 * nothing is freed while something still points at it; the next GC or check tries again.
 */

export interface TeardownResult {
  leases: Lease[];
  ports: PortReservation[];
  nat: NatHolding[];
  forwards: AttachmentId[];
  ingress: AttachmentId[];
  interfaces: string[];
  stale: string[];
  /** Attachments (keys) whose teardown stopped at a failed step, with the error. */
  failures: { key: string; error: Error }[];
}

export interface FirewallOwnerOptions {
  state: IpamState;
  commit(records: readonly StateRecord[]): Promise<void>;
  driver: FirewallDriver;
  proxy: UserlandProxy;
}

const idOf = (h: { network: string; containerID: string; ifname: string }): AttachmentId => ({ network: h.network, containerID: h.containerID, ifname: h.ifname });
const keyOf = (id: AttachmentId) => attachmentKey(id.network, id.containerID, id.ifname);

/** A failed host command as the API's error (502, CNI code 100), with the command line. */
function hostFailure(err: unknown, what: string): Error {
  if (err instanceof IpamError) return err;
  if (err instanceof CniError) return new IpamError(err.code === 7 ? 'invalid-config' : 'host-command-failed', `${what}: ${err.message}`, err.details);
  if (err instanceof CommandError) return new IpamError('host-command-failed', `${what}: ${err.message}`, err.details);
  return new IpamError('internal', `${what}: ${(err as Error)?.message ?? String(err)}`);
}

/** A forward that cannot be published as asked (400, naming what is wrong). */
function invalidForward(err: unknown): Error {
  if (err instanceof IpamError) return err;
  return new IpamError('invalid-request', `port forwards: ${(err as Error)?.message ?? String(err)}`, err instanceof CniError ? err.details : '');
}

export function natView(h: NatHolding): NatView {
  const v: NatView = { ...idOf(h), addresses: [...h.addresses] };
  if (h.jail) v.jail = h.jail;
  return v;
}

/** The userland proxy's sockets for a forward: per mapping and family, one per host port. */
export function proxySpecs(fwd: PortForward): ProxySpec[] {
  if (!fwd.userlandProxy) return [];
  const out: ProxySpec[] = [];
  for (const m of fwd.mappings) {
    for (const [family, jail] of [[4, fwd.target.v4], [6, fwd.target.v6]] as const) {
      if (!jail) continue;
      const only = m.hostIP === undefined ? 0 : m.hostIP.includes(':') ? 6 : 4;
      if (only !== 0 && only !== family) continue;
      const listenAddress = m.hostIP ?? (family === 4 ? '0.0.0.0' : '::');
      for (let i = 0; i <= m.hostPortEnd - m.hostPort; i++) {
        out.push({ protocol: m.protocol, listenAddress, port: m.hostPort + i, targetAddress: addressOf(jail), targetPort: m.containerPort + i });
      }
    }
  }
  return out;
}

/** How long a "pf is ready" answer is trusted (an admin who disables pf is noticed within this). */
export const READY_TRUST_MS = 5_000;

/**
 * How long the host's default-route interface, once read for an attachment, serves that
 * attachment without asking route(8) again: one attach asks twice within milliseconds (its NAT
 * rule's egress, then its port forwards' `rdr on IF`). Safe because neither follows the route
 * anyway: the NAT rule's egress is chosen once, when the network's first member comes, and a
 * forward's interface when it is loaded, so a route changed within this window is no different
 * from one changed just after the read. Per attachment, not per host: what one attach costs does
 * not depend on what other attachments did a moment before, and a route that changes (or
 * breaks) is seen by the next attachment at once.
 */
export const ROUTE_TRUST_MS = 2_000;

export class FirewallOwner {
  private readonly state: IpamState;
  private readonly commit: (records: readonly StateRecord[]) => Promise<void>;
  readonly driver: FirewallDriver;
  readonly proxy: UserlandProxy;
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Per network, the ingress rules this process loaded last (a repeated ADD loads nothing). */
  private readonly ingressLoaded = new Map<string, string>();
  /** Per network, the NAT additions waiting for their turn (joinNatBatch). */
  private readonly natBatches = new Map<string, { addresses: Set<string>; done: Promise<void> }>();
  /** Networks whose NAT readiness was looked at since this daemon started. */
  private readonly natSetUp = new Set<string>();
  /**
   * Networks whose NAT (rule and table) jailnet set up, as far as this process knows: members
   * in the records when it started (resumeNat), or a load or table change that worked since the
   * network's last teardown. For the others no member is in pf, so their next batch loads rule
   * and table whole. Not "the records hold no other member": an ADD recorded but not yet applied
   * would count as one, and send the first member down the two-call path.
   */
  private readonly natLoaded = new Set<string>();
  /** Until when a positive readiness answer (by kinds) is trusted without asking pf again. */
  private readonly readyUntil = new Map<string, number>();
  /** Per attachment and family ("4 KEY"), the host's default-route interface read for it and until when it serves it (ROUTE_TRUST_MS). */
  private readonly knownRoutes = new Map<string, { iface: string; until: number }>();

  constructor(opts: FirewallOwnerOptions) {
    this.state = opts.state;
    this.commit = opts.commit;
    this.driver = opts.driver;
    this.proxy = opts.proxy;
  }

  /**
   * Why the backend cannot carry these rules now (pf disabled, hooks missing), or undefined. A
   * positive answer is trusted for READY_TRUST_MS so that a burst of ADDs costs two pfctl reads,
   * not two each; a negative one is asked again every time.
   */
  private async notReady(kinds: readonly RuleKind[]): Promise<{ message: string; fix: string } | undefined> {
    const key = kinds.join(',');
    if ((this.readyUntil.get(key) ?? 0) > Date.now()) return undefined;
    const problem = await this.driver.readiness(kinds).catch((err: unknown) => Promise.reject(hostFailure(err, 'asking pf whether it is ready')));
    if (problem) this.readyUntil.delete(key);
    else this.readyUntil.set(key, Date.now() + READY_TRUST_MS);
    return problem;
  }

  /** After the journal is read: a network with NAT members in the records has its NAT set up. */
  resumeNat(): void {
    for (const h of this.state.nat.holdings.values()) this.natLoaded.add(h.network);
  }

  /** Runs `fn` after every earlier change of the network has finished. */
  private serial<T>(network: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(network) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(network, tail);
    void tail.then(() => {
      if (this.queues.get(network) === tail) this.queues.delete(network);
    });
    return run;
  }

  /** Applies records to memory and writes them (a change taken back, or one that must stay). */
  private async record(records: StateRecord[]): Promise<void> {
    for (const r of records) this.state.apply(r);
    await this.commit(records);
  }

  /**
   * The interface of the host's default route, read once for an attachment's NAT rule and port
   * forwards (ROUTE_TRUST_MS). Only an interface is remembered: no route, or a failed read, is
   * asked again; removing the attachment's NAT or forwards forgets it.
   */
  private async defaultRouteInterface(key: string, family: 4 | 6): Promise<string | undefined> {
    const known = this.knownRoutes.get(`${family} ${key}`);
    if (known && known.until > Date.now()) return known.iface;
    const found = await defaultRouteInterface(family);
    const now = Date.now();
    for (const [k, e] of this.knownRoutes) if (e.until <= now) this.knownRoutes.delete(k);
    if (found) this.knownRoutes.set(`${family} ${key}`, { iface: found, until: now + ROUTE_TRUST_MS });
    return found;
  }

  private forgetRoutes(key: string): void {
    this.knownRoutes.delete(`4 ${key}`);
    this.knownRoutes.delete(`6 ${key}`);
  }

  private async egress(key: string, configured: string | undefined): Promise<string> {
    if (configured) return configured;
    const found = await this.defaultRouteInterface(key, 4);
    if (!found) throw new IpamError('invalid-config', 'NAT: the host has no IPv4 default route to masquerade through', 'set "egressInterface" in the network configuration, or add a default route');
    return found;
  }

  private async externalInterface(fwd: PortForward): Promise<string | undefined> {
    if (!needsExternalInterface(fwd.mappings)) return undefined;
    if (fwd.externalInterface) return fwd.externalInterface;
    const key = keyOf(fwd);
    const found = (fwd.target.v4 ? await this.defaultRouteInterface(key, 4) : undefined) ?? (fwd.target.v6 ? await this.defaultRouteInterface(key, 6) : undefined);
    if (!found) {
      throw new IpamError('invalid-config', 'portmap: the host has no default route, so there is no external interface to publish ports on', 'set "externalInterface" in the portmap configuration, or give every mapping a hostIP');
    }
    return found;
  }

  // ---- NAT ---------------------------------------------------------------------------------

  /**
   * Puts the attachment's addresses in the network's NAT: recorded first, then one pfctl call
   * (for the network's first members its rule and table loaded together, else a table change).
   * Says per address whether it is new to the attachment; a failure takes back only those.
   */
  async addNat(id: AttachmentId & { jail?: string; egressInterface?: string }, addresses: string[]): Promise<{ nat: NatView; added: { address: string; created: boolean }[]; warnings?: string[] }> {
    const change = this.state.natAdd(id, addresses, Date.now());
    await this.commit(change.records);
    try {
      await this.joinNatBatch(id.network, addresses, () => this.egress(keyOf(id), id.egressInterface ?? change.value.holding.egressInterface));
    } catch (err) {
      const undo = this.state.natRemove(keyOf(id), change.value.created.filter((c) => c.created).map((c) => c.address));
      await this.commit(undo.records);
      throw hostFailure(err, `adding ${addresses.join(', ')} to the NAT of network ${id.network}`);
    }
    const reply: { nat: NatView; added: { address: string; created: boolean }[]; warnings?: string[] } = { nat: natView(change.value.holding), added: change.value.created };
    // NAT that pf will not apply is not refused (the jail still works inside the host), but said,
    // by the ADD that sets the network's NAT up (later ADDs of the network cost no pfctl read;
    // the CLI and the hook check readiness before every attach).
    const problem = change.value.created.some((c) => c.created) && !this.natSetUp.has(id.network) ? await this.notReady(['nat']).catch(() => undefined) : undefined;
    this.natSetUp.add(id.network);
    if (problem) reply.warnings = [`${problem.message}: ${addresses.join(', ')} will not be translated (${problem.fix.split('\n')[0]})`];
    return reply;
  }

  /**
   * Table additions of one network are coalesced: the adds that arrive while the network's
   * queue is busy join one batch, applied in one pfctl call when its turn comes (a burst of
   * ADDs on a network costs a few pfctl calls, not one each). All of a batch succeed or fail.
   */
  private joinNatBatch(network: string, addresses: readonly string[], egress: () => Promise<string>): Promise<void> {
    let batch = this.natBatches.get(network);
    if (!batch) {
      const pending = new Set<string>();
      const done = this.serial(network, async () => {
        // Closed from here on: later adds start the next batch.
        this.natBatches.delete(network);
        const list = [...pending];
        if (!this.natLoaded.has(network)) {
          // The network's first members: rule and table with them in one pfctl call. A table
          // left behind (by hand, by an older jailnet) ends up holding exactly these; no member
          // of jailnet's is in it (the records claim every one, and none was applied).
          await this.driver.setupNetworkNat(network, list, egress);
        } else if (await this.driver.addNatMembers(network, list, egress)) {
          // The table was not there: the NAT of the network was set up now. Members the records
          // say it has besides these (it was flushed behind jailnet's back) go back in.
          const others = this.state.nat.members(network).filter((a) => !pending.has(a));
          if (others.length > 0) await this.driver.addNatMembers(network, others, egress);
        }
        this.natLoaded.add(network);
      });
      batch = { addresses: pending, done };
      this.natBatches.set(network, batch);
    }
    for (const a of addresses) batch.addresses.add(a);
    return batch.done;
  }

  /** Takes addresses (all when absent) out of the attachment's NAT membership; never another's. */
  removeNat(id: AttachmentId, addresses?: string[]): Promise<string[]> {
    return this.serial(id.network, () => this.removeNatNow(id, addresses));
  }

  private async removeNatNow(id: AttachmentId, addresses?: string[]): Promise<string[]> {
    this.forgetRoutes(keyOf(id));
    const change = this.state.natRemove(keyOf(id), addresses);
    const { removed, previous } = change.value;
    if (removed.length === 0) return [];
    // Out of the table only what no other attachment holds; the last member takes the NAT down.
    const takeOut = removed.filter((a) => this.state.nat.holdersOf(id.network, a).size === 0);
    try {
      if (!this.state.nat.hasMembers(id.network)) {
        await this.driver.teardownNetworkNat(id.network);
        this.natSetUp.delete(id.network);
        this.natLoaded.delete(id.network);
      }
      else await this.driver.removeNatMembers(id.network, takeOut);
    } catch (err) {
      if (previous) this.state.apply(natToRecord(previous));
      throw hostFailure(err, `removing ${removed.join(', ')} from the NAT of network ${id.network}`);
    }
    await this.commit(change.records);
    return removed;
  }

  /** CHECK: the attachment holds each address, the network's rule is loaded and the table has them. */
  async checkNat(id: AttachmentId, addresses: string[]): Promise<NatView> {
    const held = this.state.nat.holdings.get(keyOf(id));
    const unrecorded = addresses.filter((a) => !held?.addresses.includes(a));
    if (unrecorded.length > 0 || !held) {
      throw new IpamError('check-failed', `jailnetd records no NAT of ${unrecorded.join(', ')} for container ${id.containerID} interface ${id.ifname} on network ${id.network}`, 'DEL and ADD the attachment again to repair it');
    }
    const difference = await this.driver.natDifference(id.network, addresses).catch((err: unknown) => {
      throw hostFailure(err, `checking the NAT of network ${id.network}`);
    });
    if (difference) throw new IpamError('check-failed', difference.message, difference.fix);
    return natView(held);
  }

  // ---- port forwards -------------------------------------------------------------------------

  /**
   * Publishes an attachment's ports: host ports reserved (refused whole, naming the holder, when
   * another attachment has one), the forward recorded, the proxy's sockets opened (refused when
   * another program has the port), then the rules loaded in one atomic pfctl call. Any failure
   * takes back what this call did and nothing else: a repeated ADD keeps what the first one has.
   */
  async publish(fwd: PortForward, jail: string | undefined): Promise<{ forward: ForwardView; ports: (PortEntryView & { created: boolean })[] }> {
    // A port that cannot work must not look published: refused before anything changes.
    const problem = await this.notReady(['nat', 'rdr']);
    if (problem) throw new IpamError('not-ready', `cannot publish ports of container ${fwd.containerID}: ${problem.message}`, problem.fix);
    const { ext, entries } = await this.prepare(fwd);
    const specs = proxySpecs(fwd);
    return this.serial(fwd.network, async () => {
      const key = keyOf(fwd);
      const who: Omit<PortReservation, 'entries'> = { ...idOf(fwd) };
      if (jail) who.jail = jail;
      const previousPorts = this.state.ports.reservations.get(key);
      const previousForward = this.state.forwards.get(key);
      // Reserved together with what the attachment already holds until the new rules are in:
      // ports of an earlier ADD are freed only once no rule points at them any more.
      const reserve = this.state.reservePorts({ ...who, ports: entries.map((e) => ({ ...e })) });
      const holding: ForwardHolding = { ...fwd, at: Date.now() };
      if (jail) holding.jail = jail;
      await this.commit([...reserve.records, ...this.state.putForward(holding)]);

      let proxied;
      try {
        proxied = await this.proxy.open(key, specs);
        try {
          await this.driver.setPortForward(fwd, ext);
        } catch (err) {
          await this.proxy.undo(proxied);
          throw hostFailure(err, `loading the port forwards of container ${fwd.containerID} interface ${fwd.ifname}`);
        }
      } catch (err) {
        await this.record([
          previousPorts ? portsToRecord(previousPorts) : { t: 'unports', k: key },
          previousForward ? forwardToRecord(previousForward) : { t: 'unfwd', k: key },
        ]);
        throw err;
      }
      await this.proxy.close(key, specs);
      await this.commit(this.state.setPorts(who, entries));
      const created = (e: PortEntry) => !previousPorts?.entries.some((p) => p.protocol === e.protocol && p.hostIP === e.hostIP && p.hostPort === e.hostPort && p.hostPortEnd === e.hostPortEnd);
      return { forward: this.forwardView(holding), ports: entries.map((e) => ({ ...e, created: created(e) })) };
    });
  }

  /**
   * What publishing and checking a forward need before anything changes: the external interface
   * (one `route get` unless configured, not needed, or just read for the attachment's NAT), the
   * rules rendered once so that a forward that cannot be published is refused (400) here, and
   * the host ports to reserve.
   */
  private async prepare(fwd: PortForward): Promise<{ ext: string | undefined; entries: PortEntry[] }> {
    let entries: PortEntry[];
    try {
      checkPublishable(fwd.mappings, fwd.target);
      entries = reservationEntries(fwd.mappings).map((e, i) => normalizePortEntry(e, `mappings[${i}]`));
    } catch (err) {
      throw invalidForward(err);
    }
    const ext = await this.externalInterface(fwd).catch((err: unknown) => Promise.reject(hostFailure(err, 'finding the external interface')));
    try {
      renderPortForward(fwd, ext);
    } catch (err) {
      throw invalidForward(err);
    }
    return { ext, entries };
  }

  /** Removes the attachment's port forwards (rules, then proxy sockets), then its host ports. */
  unpublish(id: AttachmentId): Promise<PortEntryView[]> {
    return this.serial(id.network, async () => {
      await this.removeForwardNow(id, true);
      const released = this.state.ports.reservations.get(keyOf(id))?.entries ?? [];
      await this.commit(this.state.setPorts(idOf(id), []));
      return released.map((e) => ({ ...e }));
    });
  }

  /** Rules and proxy sockets of the attachment; the forward's record goes after them. */
  private async removeForwardNow(id: AttachmentId, always: boolean): Promise<boolean> {
    const key = keyOf(id);
    this.forgetRoutes(key);
    if (!always && !this.state.forwards.has(key) && !this.state.ports.reservations.has(key)) return false;
    try {
      await this.driver.removePortForward(id);
    } catch (err) {
      throw hostFailure(err, `removing the port forwards of container ${id.containerID} interface ${id.ifname}`);
    }
    await this.proxy.close(key);
    await this.commit(this.state.deleteForward(key).records);
    return true;
  }

  /** CHECK: the forward is recorded, its rules are loaded, its ports reserved and its sockets open. */
  async checkForward(fwd: PortForward): Promise<ForwardView> {
    const key = keyOf(fwd);
    const recorded = this.state.forwards.get(key);
    if (!recorded) throw new IpamError('check-failed', `jailnetd holds no port forwards for container ${fwd.containerID} interface ${fwd.ifname} on network ${fwd.network}`, 'ADD the attachment again');
    const { ext } = await this.prepare(fwd);
    const difference = await this.driver.portForwardDifference(fwd, ext).catch((err: unknown) => {
      throw hostFailure(err, `checking the port forwards of container ${fwd.containerID}`);
    });
    if (difference) throw new IpamError('check-failed', difference, 'ADD the attachment again to restore them');
    const held = this.state.ports.reservations.get(key)?.entries ?? [];
    for (const m of fwd.mappings) {
      const covered = held.some((h) => h.protocol === m.protocol && h.hostIP === (m.hostIP ?? '') && h.hostPort <= m.hostPort && m.hostPortEnd <= h.hostPortEnd);
      if (!covered) throw new IpamError('check-failed', `host port ${describeMapping(m)} is not reserved for ${fwd.containerID}/${fwd.ifname} in jailnetd`, 'ADD the attachment again');
    }
    for (const spec of proxySpecs(fwd)) {
      if (!this.proxy.has(key, spec)) throw new IpamError('check-failed', `the userland proxy does not listen on ${describeListen(spec)} for ${fwd.containerID}/${fwd.ifname}`, 'ADD the attachment again (another program may hold the port: sockstat -l)');
    }
    return this.forwardView(recorded);
  }

  forwardView(h: ForwardHolding): ForwardView {
    const v: ForwardView = { ...idOf(h), mappings: h.mappings.map((m) => ({ ...m })), target: { ...h.target }, snat: h.snat, userlandProxy: h.userlandProxy, listeners: this.proxy.listeners(keyOf(h)) };
    if (h.jail) v.jail = h.jail;
    if (h.externalInterface) v.externalInterface = h.externalInterface;
    return v;
  }

  /**
   * After a start: the proxy's sockets of every recorded forward (pf's rules live in the kernel
   * and survived the daemon). A port another program took meanwhile is logged, not fatal.
   */
  async rebuildProxies(): Promise<number> {
    let opened = 0;
    for (const [key, fwd] of this.state.forwards) {
      try {
        opened += (await this.proxy.open(key, proxySpecs(fwd))).opened.length;
      } catch (err) {
        log.error(`userland proxy for container ${fwd.containerID} interface ${fwd.ifname} on network ${fwd.network} not restored: ${(err as Error).message}`);
      }
    }
    return opened;
  }

  // ---- ingress policy ------------------------------------------------------------------------

  /**
   * Records an attachment's ingress policy and brings the network's anchor in line with every
   * policy the network's attachments hold (loaded again only when the rules change). A failure
   * puts the attachment's previous record back. Refused before anything changes when pf would
   * not evaluate the rules (disabled, or no `anchor "jailnet/*"` in the main ruleset): a network
   * that looks isolated must be isolated.
   */
  async addIngress(rule: IngressRule & { jail?: string }): Promise<{ created: boolean }> {
    const problem = await this.notReady(['filter']);
    if (problem) throw new IpamError('not-ready', `cannot apply the ${rule.policy} ingress policy of network ${rule.network}: ${problem.message}`, problem.fix);
    return this.serial(rule.network, async () => {
      const key = keyOf(rule);
      const previous = this.state.ingress.get(key);
      const holding: IngressHolding = { ...rule, subnets: rule.subnets.map((s) => ({ ...s })), at: Date.now() };
      await this.commit(this.state.putIngress(holding));
      try {
        await this.applyIngress(rule.network);
      } catch (err) {
        await this.record([previous ? ingressToRecord(previous) : { t: 'uning', k: key }]);
        throw hostFailure(err, `loading the ingress rules of network ${rule.network}`);
      }
      return { created: previous === undefined };
    });
  }

  /** Takes the attachment's policy away; the network's last one takes the anchor down. */
  removeIngress(id: AttachmentId): Promise<boolean> {
    return this.serial(id.network, () => this.removeIngressNow(id));
  }

  private async removeIngressNow(id: AttachmentId): Promise<boolean> {
    const change = this.state.deleteIngress(keyOf(id));
    if (!change.value) return false;
    try {
      await this.applyIngress(id.network);
    } catch (err) {
      this.state.apply(ingressToRecord(change.value));
      throw hostFailure(err, `removing the ingress rules of container ${id.containerID} interface ${id.ifname} on network ${id.network}`);
    }
    await this.commit(change.records);
    return true;
  }

  private async applyIngress(network: string): Promise<void> {
    const rules = networkIngress(this.state.ingress.values(), network);
    if (!rules) {
      await this.driver.teardownIngress(network);
      this.ingressLoaded.delete(network);
      return;
    }
    const text = renderIngressRules(rules);
    if (this.ingressLoaded.get(network) === text) return;
    this.ingressLoaded.delete(network);
    await this.driver.setupIngress(network, rules);
    this.ingressLoaded.set(network, text);
  }

  /** CHECK: the attachment's policy is recorded as asked and the network's rules are loaded. */
  async checkIngress(rule: IngressRule): Promise<void> {
    const held = this.state.ingress.get(keyOf(rule));
    if (!held || held.policy !== rule.policy || held.bridge !== rule.bridge) {
      throw new IpamError('check-failed', `jailnetd holds no ${rule.policy} ingress policy on bridge ${rule.bridge} for container ${rule.containerID} interface ${rule.ifname} on network ${rule.network}`, 'DEL and ADD the attachment again');
    }
    const rules = networkIngress(this.state.ingress.values(), rule.network);
    const difference = rules ? await this.driver.ingressDifference(rule.network, rules).catch((err: unknown) => Promise.reject(hostFailure(err, `checking the ingress rules of network ${rule.network}`))) : undefined;
    if (difference) {
      this.ingressLoaded.delete(rule.network);
      throw new IpamError('check-failed', difference, 'ADD the attachment again to restore them');
    }
  }

  // ---- teardown ------------------------------------------------------------------------------

  /** Whether the attachment holds anything besides its lease (a release can skip the queue otherwise). */
  holdsFirewallState(key: string): boolean {
    return this.state.nat.holdings.has(key) || this.state.forwards.has(key) || this.state.ports.reservations.has(key) || this.state.ingress.has(key);
  }

  /**
   * Tears attachments down in order: rules, table entries and proxy sockets; then (with
   * `interfaces`) the host end; then lease and host ports. Per attachment, a failed step stops
   * it there. Attachments of one network run in that network's queue.
   */
  async teardown(keys: readonly string[], opts: { interfaces: boolean }): Promise<TeardownResult> {
    const result = emptyResult();
    const byNetwork = new Map<string, string[]>();
    for (const k of new Set(keys)) {
      const network = k.slice(0, k.indexOf('/'));
      byNetwork.set(network, [...(byNetwork.get(network) ?? []), k]);
    }
    for (const [network, list] of byNetwork) await this.serial(network, () => this.teardownNow(list, opts, result));
    return result;
  }

  private async teardownNow(keys: readonly string[], opts: { interfaces: boolean }, result: TeardownResult): Promise<void> {
    for (const key of keys) {
      const id = this.attachmentOf(key);
      if (!id) continue;
      try {
        const nat = this.state.nat.holdings.get(key);
        if (await this.removeForwardNow(id, false)) result.forwards.push(id);
        if (await this.removeIngressNow(id)) result.ingress.push(id);
        if (nat && (await this.removeNatNow(id)).length > 0) result.nat.push(nat);
        if (opts.interfaces) {
          const destroyed = await destroyHostEndOf(id).catch((err: unknown) => Promise.reject(hostFailure(err, `destroying the host interface of container ${id.containerID} interface ${id.ifname}`)));
          if (destroyed) result.interfaces.push(destroyed);
        }
        const change = this.state.releaseAttachments([key]);
        await this.commit(change.records);
        result.leases.push(...change.value.leases);
        result.ports.push(...change.value.ports);
      } catch (err) {
        result.failures.push({ key, error: err as Error });
        log.warn(`teardown of ${key} stopped: ${(err as Error).message}; what comes after it stays until the next try`);
      }
    }
  }

  /** The attachment behind a key, from whatever the state holds for it. */
  private attachmentOf(key: string): AttachmentId | undefined {
    const network = key.slice(0, key.indexOf('/'));
    const h = this.state.networks.get(network)?.leases.get(key) ?? this.state.ports.reservations.get(key) ?? this.state.nat.holdings.get(key) ?? this.state.forwards.get(key) ?? this.state.ingress.get(key);
    return h ? idOf(h) : undefined;
  }

  /** Keys of the network's attachments that hold anything (lease, ports, NAT, forwards). */
  attachmentKeys(network: string): Set<string> {
    const keys = new Set<string>(this.state.networks.get(network)?.leases.keys() ?? []);
    for (const [k, r] of this.state.ports.reservations) if (r.network === network) keys.add(k);
    for (const [k, h] of this.state.nat.holdings) if (h.network === network) keys.add(k);
    for (const [k, f] of this.state.forwards) if (f.network === network) keys.add(k);
    for (const [k, h] of this.state.ingress) if (h.network === network) keys.add(k);
    return keys;
  }

  /**
   * CNI GC of a network: first what is installed and no recorded attachment owns (port-forward
   * rules, NAT table entries left by hand or by an older jailnet), then the recorded attachments
   * that are not valid, each torn down in order, then host ends of the network that no valid
   * attachment owns. When the installed state cannot be listed or cleaned, nothing is freed.
   */
  gc(network: string, valid: readonly { containerID: string; ifname: string }[]): Promise<TeardownResult> {
    return this.serial(network, async () => {
      const result = emptyResult();
      const validKeys = new Set(valid.map((a) => attachmentKey(network, a.containerID, a.ifname)));
      const recorded = this.attachmentKeys(network);
      // Recorded attachments that are not valid are torn down below, in their order.
      const owners = [...valid.map((a) => ({ network, containerID: a.containerID, ifname: a.ifname })), ...[...recorded].flatMap((k) => this.attachmentOf(k) ?? [])];
      try {
        for (const handle of await this.driver.staleForwards(network, owners)) {
          await this.driver.removeForwardHandle(handle);
          result.stale.push(handle);
        }
        const held = new Set(this.state.nat.members(network));
        const extra = (await this.driver.natMembers(network)).filter((a) => !held.has(a));
        if (extra.length > 0) {
          if (held.size === 0) {
            await this.driver.teardownNetworkNat(network);
            this.natLoaded.delete(network);
          }
          else await this.driver.removeNatMembers(network, extra);
          result.stale.push(...extra.map((a) => `NAT ${a}`));
        }
      } catch (err) {
        result.failures.push({ key: network, error: hostFailure(err, `GC of network ${network}: cleaning the firewall`) });
        return result;
      }
      await this.teardownNow([...recorded].filter((k) => !validKeys.has(k)), { interfaces: true }, result);
      try {
        // A host end whose attachment failed a step above stays until that one is retried.
        const kept = new Set(result.failures.flatMap((f) => {
          const id = this.attachmentOf(f.key);
          return id ? [hostEndName(id.containerID, id.ifname)] : [];
        }));
        for (const end of await staleHostEnds(network, valid)) {
          if (kept.has(end.name)) continue;
          if (await destroyHostEnd(end.name)) result.interfaces.push(end.name);
        }
      } catch (err) {
        result.failures.push({ key: network, error: hostFailure(err, `GC of network ${network}: host interfaces`) });
      }
      return result;
    });
  }
}

function emptyResult(): TeardownResult {
  return { leases: [], ports: [], nat: [], forwards: [], ingress: [], interfaces: [], stale: [], failures: [] };
}
