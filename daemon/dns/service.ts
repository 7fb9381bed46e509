import type { FirewallDriver } from '../../src/firewall/driver';
import type { DnsNetworkView, DnsServeResponse, DnsStatusResponse } from '../../src/ipam/api-types';
import { IpamError } from '../../src/ipam/errors';
import { attachmentKey } from '../../src/ipam/lease';
import type { IpamState } from '../../src/ipam/state';
import { NameIndex } from '../../src/dns/zone';
import { renderDnsRules } from '../../src/pf/dns-rules';
import { log } from '../../src/log/logger';
import { Forwarder, ResolvConfSource } from './forwarder';
import { BindError, DEFAULT_LIMITS, GatewayListener, type ListenerLimits, type Transport } from './listener';
import { decode, encodeResponse, isResponse, opcodeOf, peekHeader, udpLimit, type Header } from './wire';

/**
 * jailnetd's DNS server (docs/dns.md): the names of each network's jails on its gateway
 * addresses, everything else forwarded to the host's resolvers. Which gateways it listens on
 * follows the leases: an address is listened on while an attachment that uses the server has
 * it as its gateway (NameIndex counts them), through the link plugin's POST /v1/dns/serve once
 * the address is on the bridge or host end, and again at every start from the leases read back;
 * the last such attachment going closes the sockets and removes the network's pf rules. A bind
 * that fails (the gateway is not there yet after a reboot, another program holds the port) is
 * tried again every few seconds.
 *
 * Who may ask: a query is answered only when its source is the address of a jail (a lease) of a
 * network whose gateway the query came to; anything else is REFUSED. Each client address may
 * ask `rateLimit` queries a second (a burst of as many); more are dropped.
 */

export interface DnsSettings {
  /** The host's resolv.conf, whose nameservers and search list forwarding uses. */
  resolvConf: string;
  /** Queries a second per client address; 0 turns the limit off. */
  rateLimit: number;
  /** 53; tests of the server alone may use another. */
  port: number;
  limits?: Partial<ListenerLimits>;
}

export const DEFAULT_DNS_SETTINGS: DnsSettings = { resolvConf: '/etc/resolv.conf', rateLimit: 1000, port: 53 };
const RETRY_MS = 5000;

export type DnsOutcome = 'local' | 'forwarded' | 'refused' | 'ratelimited' | 'malformed' | 'servfail' | 'notimp';

interface ListenerEntry {
  networks: Set<string>;
  listener?: GatewayListener;
  error?: string;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class DnsService {
  readonly index: NameIndex;
  private readonly listeners = new Map<string, ListenerEntry>();
  /** The rules loaded per network (text), and the last failure to load them. */
  private readonly pfRules = new Map<string, string>();
  private readonly pfErrors = new Map<string, string>();
  private readonly forwarder: Forwarder;
  private readonly resolv: ResolvConfSource;
  private readonly limits: ListenerLimits;
  private readonly tcpCount = { open: 0 };
  private readonly buckets = new Map<string, Bucket>();
  private readonly inFlight = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  /** The pass to come opens listeners too (serve, start, the retry timer); a lease change alone only closes them. */
  private bindNext = false;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  readonly outcomes = new Map<DnsOutcome, number>();

  constructor(
    private readonly state: IpamState,
    private readonly driver: FirewallDriver,
    private readonly settings: DnsSettings,
  ) {
    this.index = new NameIndex(state);
    // Leases read back at start-up are served by start(), in one pass.
    // A new lease's gateway is not on the host yet (the bridge gets it after IPAM answered):
    // its listener is opened by serve(), which the link plugin calls once it is.
    this.index.onGatewaysChanged = () => {
      if (this.started) void this.reconcile(false);
    };
    state.observer = this.index;
    this.resolv = new ResolvConfSource(settings.resolvConf);
    this.forwarder = new Forwarder(this.resolv);
    this.limits = { ...DEFAULT_LIMITS, ...settings.limits };
  }

  /** After the state is read: listen on every gateway the leases name, and try again later where that failed. */
  async start(): Promise<number> {
    this.started = true;
    await this.reconcile(true);
    this.timer = setInterval(() => {
      if ([...this.listeners.values()].some((e) => e.error) || this.pfErrors.size > 0) void this.reconcile(true);
    }, RETRY_MS);
    this.timer.unref();
    return [...this.listeners.values()].filter((e) => e.listener).length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain;
    await Promise.all([...this.listeners.values()].map((e) => e.listener?.close()));
    this.listeners.clear();
    this.forwarder.close();
  }

  /** Waits for the sockets and rules to follow every change made so far. Never rejects. */
  settle(): Promise<void> {
    return this.reconcile(false);
  }

  /**
   * POST /v1/dns/serve: the attachment's gateway is in place. Listens there (and loads the
   * network's rules) before it answers; refuses when a gateway cannot be listened on.
   */
  async serve(network: string, containerID: string, ifname: string): Promise<DnsServeResponse> {
    const lease = this.state.networks.get(network)?.leases.get(attachmentKey(network, containerID, ifname));
    if (!lease) throw new IpamError('no-lease', `container ${containerID} interface ${ifname} holds no address on network ${network}`, 'the link plugin asks for DNS after its lease; run ADD again');
    if (!lease.names) throw new IpamError('invalid-request', `container ${containerID} interface ${ifname} on network ${network} does not use the DNS server (its lease was made without "dns")`, 'DEL and ADD the attachment with a link plugin that asks for DNS');
    await this.reconcile(true);
    const gateways = [...new Set(lease.ips.flatMap((ip) => (ip.gateway ? [ip.gateway] : [])))];
    const failed = gateways.map((g) => ({ g, error: this.listeners.get(g)?.error })).filter((f) => f.error || !this.listeners.get(f.g)?.listener);
    if (failed.length > 0) {
      throw new IpamError('host-command-failed', `the DNS server of network ${network} cannot listen: ${failed.map((f) => f.error ?? `${f.g}: not listening`).join('; ')}`, 'free the port, or turn the network\'s DNS server off ("dnsServer": false in its bridge or epair plugin)');
    }
    const reply: DnsServeResponse = { nameservers: gateways, names: [...lease.names] };
    const domain = this.index.domain(network);
    if (domain) reply.domain = domain;
    return reply;
  }

  status(): DnsStatusResponse {
    const networks: DnsNetworkView[] = this.index.networks().sort().map((network) => {
      const v: DnsNetworkView = {
        network,
        attachments: this.index.attachments(network),
        listeners: this.index.gateways(network).map((address) => {
          const e = this.listeners.get(address);
          const l: DnsNetworkView['listeners'][number] = { address, listening: e?.listener !== undefined };
          if (e?.error) l.error = e.error;
          return l;
        }),
        records: this.index.records(network),
      };
      const domain = this.index.domain(network);
      if (domain) v.domain = domain;
      return v;
    });
    return { networks, upstreams: [...this.resolv.current().nameservers], resolvConf: this.settings.resolvConf };
  }

  /** How many gateway addresses are listened on. */
  get listening(): number {
    return [...this.listeners.values()].filter((e) => e.listener).length;
  }

  // ---- sockets and rules follow the leases ----------------------------------------------------

  /** Runs one pass after the changes so far; passes are serial, and a pass waiting covers later changes too. */
  private reconcile(bind: boolean): Promise<void> {
    if (bind) this.bindNext = true;
    if (this.queued) return this.chain;
    this.queued = true;
    this.chain = this.chain.then(async () => {
      this.queued = false;
      const bindNow = this.bindNext;
      this.bindNext = false;
      if (this.stopped) return;
      try {
        await this.reconcileNow(bindNow);
      } catch (err) {
        log.error(`DNS server: ${(err as Error).message}`);
      }
    });
    return this.chain;
  }

  private async reconcileNow(bind: boolean): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const network of this.index.networks()) {
      for (const gw of this.index.gateways(network)) {
        const nets = wanted.get(gw) ?? new Set<string>();
        nets.add(network);
        wanted.set(gw, nets);
      }
    }
    for (const [address, entry] of this.listeners) {
      if (wanted.has(address)) continue;
      this.listeners.delete(address);
      await entry.listener?.close();
      log.info(`DNS server: stopped listening on ${address} (no attachment uses it)`);
    }
    for (const [address, networks] of wanted) {
      let entry = this.listeners.get(address);
      if (!entry) this.listeners.set(address, (entry = { networks }));
      entry.networks = networks;
      if (entry.listener || !bind) continue;
      const listener = new GatewayListener(address, this.settings.port, (m, from, t) => this.handle(address, m, from, t), this.limits, this.tcpCount);
      try {
        await listener.open();
        entry.listener = listener;
        if (entry.error) log.info(`DNS server: listening on ${address} now`);
        entry.error = undefined;
      } catch (err) {
        const message = err instanceof BindError ? err.message : (err as Error).message;
        if (entry.error !== message) log.warn(`DNS server for ${[...networks].join(', ')}: ${message}; trying again every ${RETRY_MS / 1000} s`);
        entry.error = message;
      }
    }
    await this.reconcileRules();
  }

  private async reconcileRules(): Promise<void> {
    const networks = new Set(this.index.networks());
    for (const network of [...this.pfRules.keys()]) {
      if (networks.has(network)) continue;
      try {
        await this.driver.removeDnsAccess(network);
        this.pfRules.delete(network);
        this.pfErrors.delete(network);
      } catch (err) {
        this.pfErrors.set(network, (err as Error).message);
        log.warn(`DNS server: removing the pf rules of network ${network}: ${(err as Error).message}`);
      }
    }
    for (const network of networks) {
      const subnets = this.state.networks.get(network)?.rangesConfig.flat().map((r) => r.subnet) ?? [];
      const access = { gateways: this.index.gateways(network), subnets };
      const rules = renderDnsRules(access);
      if (this.pfRules.get(network) === rules) continue;
      try {
        await this.driver.setDnsAccess(network, access);
        this.pfRules.set(network, rules);
        this.pfErrors.delete(network);
      } catch (err) {
        // Not fatal: the rules matter only where pf blocks; doctor and GET /v1/dns show it.
        if (this.pfErrors.get(network) !== (err as Error).message) log.warn(`DNS server: loading the pf rules of network ${network}: ${(err as Error).message}`);
        this.pfErrors.set(network, (err as Error).message);
      }
    }
  }

  // ---- queries --------------------------------------------------------------------------------

  private count(outcome: DnsOutcome): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  /**
   * The networks whose names a client gets: it must hold an address on a network whose gateway
   * the query came to; then that one first, and the other networks of its jail.
   */
  private networksOf(gateway: string, client: string): string[] | undefined {
    const entry = this.listeners.get(gateway);
    if (!entry) return undefined;
    for (const network of entry.networks) {
      const lease = this.index.holder(network, client);
      if (lease?.names) return this.index.networksOfClient(network, lease);
    }
    return undefined;
  }

  private allowed(client: string): boolean {
    const rate = this.settings.rateLimit;
    if (rate <= 0) return true;
    const now = Date.now();
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= 4096) for (const [k, v] of this.buckets) if (now - v.at > 10_000) this.buckets.delete(k);
      this.buckets.set(client, (b = { tokens: rate, at: now }));
    }
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  /** One query: its answer, or undefined to send nothing. Never throws. */
  async handle(gateway: string, message: Buffer, from: { address: string; port: number }, transport: Transport): Promise<Buffer | undefined> {
    try {
      return await this.answer(gateway, message, from, transport);
    } catch (err) {
      log.debug(`DNS query from ${from.address}: ${(err as Error).message}`);
      this.count('servfail');
      return undefined;
    }
  }

  private async answer(gateway: string, message: Buffer, from: { address: string; port: number }, transport: Transport): Promise<Buffer | undefined> {
    const header = peekHeader(message);
    // Too short to answer, or itself an answer (never answer answers: no loops between servers).
    if (!header || isResponse(header)) {
      this.count('malformed');
      return undefined;
    }
    const client = from.address.replace(/^::ffff:/, '');
    const networks = this.networksOf(gateway, client);
    const query = decode(message);
    if (!networks) {
      this.count('refused');
      return encodeResponse(header, query, 'REFUSED', []);
    }
    if (!this.allowed(client)) {
      this.count('ratelimited');
      return undefined;
    }
    if (!query) {
      this.count('malformed');
      return encodeResponse(header, undefined, 'FORMERR', []);
    }
    if (opcodeOf(header) !== 0) {
      this.count('notimp');
      return encodeResponse(header, query, 'NOTIMP', []);
    }
    const question = query.questions?.length === 1 ? query.questions[0] : undefined;
    if (!question) {
      this.count('malformed');
      return encodeResponse(header, query, 'FORMERR', []);
    }
    if ((question.class !== 'IN' && question.class !== 'ANY') || question.type === 'AXFR' || question.type === 'IXFR') {
      this.count('refused');
      return encodeResponse(header, query, 'REFUSED', []);
    }
    const limit = transport === 'udp' ? udpLimit(query) : 65535;
    const local = this.index.answer(networks, question.name, question.type);
    if (local.kind === 'answer') {
      this.count('local');
      return encodeResponse(header, query, local.rcode, local.answers, { aa: true, limit });
    }
    return this.forward(header, query, message, limit, `${transport}|${client}|${from.port}|${header.id}`);
  }

  private async forward(header: Header, query: NonNullable<ReturnType<typeof decode>>, message: Buffer, limit: number, key: string): Promise<Buffer | undefined> {
    // A resolver asking again (same socket, same ID) while the first is forwarded: one answer does.
    if (this.inFlight.has(key)) return undefined;
    this.inFlight.add(key);
    try {
      const result = await this.forwarder.forward(header, query, message, limit);
      if (result.answer) {
        this.count('forwarded');
        return result.answer;
      }
      this.count('servfail');
      return encodeResponse(header, query, 'SERVFAIL', []);
    } finally {
      this.inFlight.delete(key);
    }
  }
}
