import type * as Etcd3Module from 'etcd3';
import { blockOfAddress, blocksOf, gatewayOf, rangesOf } from '../../src/cluster/blocks';
import { MAX_PEERS, type ClusterSettings } from '../../src/cluster/config';
import { IpamError } from '../../src/ipam/errors';
import type { RangeConfig } from '../../src/ipam/range';
import { log } from '../../src/log/logger';
import { parseAddress } from '../../src/net/address';
import { defaultRouteInterface } from '../../src/freebsd/route';
import { showInterface } from '../../src/freebsd/ifconfig';
import { Dataplane, type Peer } from './dataplane';

/**
 * One cluster network on this host (docs/cluster.md): its membership in etcd, the address
 * blocks it owns, the reclaim of dead hosts' blocks, the names of every host's jails, and the
 * overlay (a vxlan(4) member of the bridge per peer, daemon/cluster/dataplane.ts).
 *
 * Keys under PREFIX/NETWORK/:
 * - `hosts/HOST` = {underlay, index, gateway}, with the host's lease (TTL leaseTtl): membership;
 * - `index/N` = HOST, with the lease: the host's index, which numbers its vxlan port;
 * - `blocks/CIDR` = {host, home}: an address block, claimed with a create-if-absent txn, held
 *   without a lease and released only by reclaim;
 * - `names/NAME/HOST/CONTAINER/IFNAME` = {addresses}, with the lease: DNS.
 *
 * Safety (the argument in docs/cluster.md): this host hands out addresses from its blocks only
 * while its lease was renewed within the TTL (measured from when the renewal was sent, so
 * before etcd can have expired it); another host reclaims a block only after the owner's
 * membership is gone and a grace period has passed, in a txn that compares the block's value
 * and the owner's absence. A fenced host also leaves the overlay, and comes back only when all
 * of its blocks are still its own.
 */

type Etcd = Etcd3Module.Etcd3;
type Lease = Etcd3Module.Lease;

export interface ClusterNetworkStatus {
  network: string;
  host: string;
  index?: number;
  underlay?: string;
  gateway?: string;
  blocks: string[];
  lostBlocks: string[];
  fenced: boolean;
  /** Set when a block was lost while fenced: the overlay stays off until jailnetd restarts. */
  isolated: boolean;
  peers: { host: string; underlay: string; index: number; gateway: string }[];
  /** Milliseconds since the lease was last renewed (from when the renewal was sent). */
  renewedAgoMs?: number;
  reclaimed: string[];
}

interface HostRecord {
  underlay: string;
  index: number;
  gateway: string;
  /** Lost a block while fenced: a member, but off the overlay (no tunnels to it). */
  isolated?: boolean;
}

export interface ClusterNetworkOptions {
  network: string;
  settings: ClusterSettings;
  subnet: string;
  hostName: string;
  etcd: Etcd;
  /** Remote names for the DNS server: name -> addresses, of every other host. */
  onRemoteNames: (network: string, names: Map<string, string[]>) => void;
  /** Addresses this host's journal holds on the network (its running jails'). */
  localAddresses: (network: string) => string[];
}

export class ClusterNetwork {
  readonly network: string;
  readonly settings: ClusterSettings;
  private readonly subnet: string;
  private readonly host: string;
  private readonly etcd: Etcd;
  private readonly base: string;
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private renewedAt = 0;
  private index: number | undefined;
  private underlay: string | undefined;
  /** Owned blocks, home first. */
  private blocks: string[] = [];
  private readonly lostBlocks: string[] = [];
  private isolated = false;
  private fencedLogged = false;
  private peers = new Map<string, HostRecord>();
  private readonly absentSince = new Map<string, number>();
  private readonly reclaimed: string[] = [];
  private joined: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchers: Etcd3Module.Watcher[] = [];
  private claiming: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | undefined;
  private resyncAgain = false;
  private stopped = false;
  readonly dataplane: Dataplane;

  constructor(private readonly options: ClusterNetworkOptions) {
    this.network = options.network;
    this.settings = options.settings;
    this.subnet = options.subnet;
    this.host = options.hostName;
    this.etcd = options.etcd;
    this.base = `${options.settings.prefix}/${options.network}/`;
    this.dataplane = new Dataplane(options.network, options.settings);
  }

  private key(...parts: string[]): string {
    return this.base + parts.join('/');
  }

  /** Registers this host (once; again after its lease was lost). Throws cluster-unavailable when etcd does not answer. */
  join(): Promise<void> {
    if (!this.joined) {
      this.joined = this.register().catch((err: unknown) => {
        this.joined = undefined;
        throw this.unavailable('cannot join', err);
      });
    }
    return this.joined;
  }

  private unavailable(what: string, err: unknown): IpamError {
    if (err instanceof IpamError) return err;
    return new IpamError(
      'cluster-unavailable',
      `cluster network ${this.network}: ${what}: etcd at ${this.settings.endpoints.join(', ')} did not answer (${(err as Error).message})`,
      'check that etcd runs and that this host reaches it (etcdctl endpoint health); local networks are not affected',
    );
  }

  private async register(): Promise<void> {
    this.underlay ??= await this.underlayAddress();
    const lease = this.etcd.lease(this.settings.leaseTtl, { autoKeepAlive: false });
    const sentAt = Date.now();
    this.leaseId = await lease.grant();
    this.lease = lease;
    this.renewedAt = sentAt;
    // The blocks etcd says are ours, before anything is served from them.
    const owned = await this.readOwnedBlocks();
    // Blocks this process served, and the blocks of the addresses the journal holds (after a
    // restart the process remembers none): each must still be ours.
    const held = new Set([...this.blocks, ...this.options.localAddresses(this.network).map((a) => blockOfAddress(a, this.settings.blockPrefix))]);
    const lost = [...held].filter((b) => !owned.includes(b) && !this.lostBlocks.includes(b));
    if (lost.length > 0) {
      this.lostBlocks.push(...lost);
      this.isolated = true;
      log.error(`cluster network ${this.network}: blocks ${lost.join(', ')} were reclaimed by other hosts while this host was fenced; this host stays off the overlay (no address is live twice) until the jails holding those addresses are detached and jailnetd is restarted`, { network: this.network });
    }
    this.blocks = this.isolated ? this.blocks.filter((b) => owned.includes(b)) : owned;
    if (this.blocks.length === 0 && !this.isolated) await this.claimBlockNow();
    await this.claimIndex();
    this.fencedLogged = false;
    if (!this.timer) {
      await this.watch();
      const period = Math.max(500, (this.settings.leaseTtl * 1000) / 3);
      this.timer = setInterval(() => void this.tick(), period);
      this.timer.unref();
    }
    await this.resync();
  }

  private async underlayAddress(): Promise<string> {
    const u = this.settings.underlay;
    if (u && parseAddress(u)) return u;
    const ifname = u ?? (await defaultRouteInterface(4));
    if (!ifname) throw new IpamError('invalid-config', `cluster network ${this.network}: no underlay given and no IPv4 default route`, 'set cluster.underlay (jailnet network create --underlay em0)', { field: 'cluster.underlay' });
    const info = await showInterface(ifname);
    const address = info?.inet[0]?.address;
    if (!address) throw new IpamError('invalid-config', `cluster network ${this.network}: underlay interface ${ifname} has no IPv4 address`, 'set cluster.underlay to an interface with the address other hosts reach this one at', { field: 'cluster.underlay' });
    return address;
  }

  private async readOwnedBlocks(): Promise<string[]> {
    const all = await this.etcd.getAll().prefix(this.key('blocks', '')).strings();
    const mine: { block: string; home: boolean }[] = [];
    for (const [k, v] of Object.entries(all)) {
      const owner = parseJson<{ host?: string; home?: boolean }>(v);
      if (owner?.host === this.host) mine.push({ block: k.slice(this.key('blocks', '').length), home: owner.home === true });
    }
    mine.sort((a, b) => Number(b.home) - Number(a.home));
    return mine.map((m) => m.block);
  }

  /** The host's index (0 .. MAX_PEERS - 1), held with its lease, and its membership record. */
  private async claimIndex(): Promise<void> {
    const leaseId = this.leaseId as string;
    const record = (index: number): string => JSON.stringify({ underlay: this.underlay as string, index, gateway: this.gateway(), ...(this.isolated ? { isolated: true } : {}) } satisfies HostRecord);
    const tryIndex = async (n: number): Promise<boolean> => {
      const indexKey = this.key('index', String(n));
      const r = await this.etcd
        .if(indexKey, 'Create', '==', 0)
        .then(this.etcd.put(indexKey).value(this.host).lease(leaseId), this.etcd.put(this.key('hosts', this.host)).value(record(n)).lease(leaseId))
        .else(this.etcd.get(indexKey))
        .commit();
      if (r.succeeded) return true;
      // Our own index from an earlier lease that has not expired yet: take it over.
      const holder = r.responses[0]?.response_range?.kvs?.[0]?.value?.toString();
      if (holder !== this.host) return false;
      await this.etcd.put(indexKey).value(this.host).lease(leaseId);
      await this.etcd.put(this.key('hosts', this.host)).value(record(n)).lease(leaseId);
      return true;
    };
    if (this.index !== undefined && (await tryIndex(this.index))) return;
    for (let n = 0; n < MAX_PEERS; n++) {
      if (await tryIndex(n)) {
        this.index = n;
        return;
      }
    }
    throw new IpamError('cluster-unavailable', `cluster network ${this.network}: all ${MAX_PEERS} host indexes are taken`, `a cluster network has at most ${MAX_PEERS} hosts`);
  }

  private gateway(): string {
    return this.blocks[0] ? gatewayOf(this.blocks[0]) : '';
  }

  /** Refuses when this host may not hand out addresses: fenced, or cut off after losing a block. */
  requireServing(): void {
    if (this.isolated) {
      throw new IpamError('cluster-unavailable', `cluster network ${this.network}: blocks ${this.lostBlocks.join(', ')} were reclaimed by other hosts while this host was fenced`, 'this host stays off the overlay; detach its jails on this network, then restart jailnetd');
    }
    if (this.fenced()) {
      throw new IpamError(
        'cluster-unavailable',
        `cluster network ${this.network}: this host's membership was not renewed for ${Math.round((Date.now() - this.renewedAt) / 1000)} s (lease TTL ${this.settings.leaseTtl} s): etcd at ${this.settings.endpoints.join(', ')} unreachable`,
        'attaches resume when etcd answers again; check etcd (etcdctl endpoint health) and this host\'s route to it; local networks are not affected',
      );
    }
  }

  /** Not renewed within the TTL, counted from when the last successful renewal was sent. */
  fenced(): boolean {
    return this.lease === undefined || Date.now() - this.renewedAt >= this.settings.leaseTtl * 1000;
  }

  /** The local pool's ranges: one per owned block, the home block's gateway for all. */
  ranges(): RangeConfig[][] {
    return rangesOf(this.subnet, this.blocks, this.gateway());
  }

  get blockCount(): number {
    return this.blocks.length;
  }

  /**
   * Claims one more block, unless another request already did since `seen` blocks were
   * known. Serialised per network: concurrent exhausted allocations claim one block, not many.
   */
  claimBlock(seen: number): Promise<void> {
    const next = this.claiming.then(async () => {
      if (this.blocks.length > seen) return;
      this.requireServing();
      try {
        await this.claimBlockNow();
      } catch (err) {
        throw this.unavailable('cannot claim an address block', err);
      }
    });
    this.claiming = next.catch(() => undefined);
    return next;
  }

  private async claimBlockNow(): Promise<void> {
    const prefix = this.key('blocks', '');
    const taken = new Set((await this.etcd.getAll().prefix(prefix).keys()).map((k) => k.slice(prefix.length)));
    for (const block of blocksOf(this.subnet, this.settings.blockPrefix)) {
      if (taken.has(block)) continue;
      const k = this.key('blocks', block);
      const home = this.blocks.length === 0;
      const r = await this.etcd.if(k, 'Create', '==', 0).then(this.etcd.put(k).value(JSON.stringify({ host: this.host, home }))).commit();
      if (r.succeeded) {
        this.blocks.push(block);
        log.info(`cluster network ${this.network}: claimed address block ${block}`, { network: this.network, block });
        return;
      }
    }
    throw new IpamError('pool-exhausted', `no free address block in cluster network ${this.network}: every /${this.settings.blockPrefix} block of ${this.subnet} is owned by a host`, 'blocks of dead hosts are reclaimed after their membership expires and the grace period; widen the subnet otherwise');
  }

  /** Publishes an attachment's names (with the lease: they go when this host does). */
  async publishNames(containerID: string, ifname: string, names: readonly string[], addresses: readonly string[]): Promise<void> {
    this.requireServing();
    const leaseId = this.leaseId as string;
    try {
      for (const name of names) await this.etcd.put(this.key('names', name, this.host, containerID, ifname)).value(JSON.stringify({ addresses })).lease(leaseId);
    } catch (err) {
      throw this.unavailable('cannot publish names', err);
    }
  }

  /** Removes an attachment's names; best effort (they expire with the lease anyway). */
  async unpublishNames(containerID: string, ifname: string, names: readonly string[]): Promise<void> {
    try {
      for (const name of names) await this.etcd.delete().key(this.key('names', name, this.host, containerID, ifname));
    } catch (err) {
      log.warn(`cluster network ${this.network}: could not remove names of ${containerID}/${ifname} from etcd (they expire with this host's lease): ${(err as Error).message}`);
    }
  }

  /** The bridge the overlay joins (learnt from the first attachment). */
  setBridge(bridge: string | undefined): void {
    if (bridge && this.dataplane.bridge !== bridge) {
      this.dataplane.bridge = bridge;
      void this.resync();
    }
  }

  private async watch(): Promise<void> {
    for (const what of ['hosts', 'names']) {
      const w = await this.etcd.watch().prefix(this.key(what, '')).create();
      w.on('put', () => void this.resync());
      w.on('delete', () => void this.resync());
      w.on('error', () => undefined);
      this.watchers.push(w);
    }
  }

  private renewing: Promise<void> | undefined;

  /** Every TTL/3: renew the lease (one keep-alive at a time), then look at etcd and the overlay. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (!this.lease) {
      // Lost, and not registered again yet: try again (etcd may answer now).
      if (!this.joined) this.join().catch(() => undefined);
      await this.resync();
      return;
    }
    this.renewing ??= this.renew().finally(() => (this.renewing = undefined));
    await this.resync();
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    const sentAt = Date.now();
    try {
      // A keep-alive is a message on a stream, which has no deadline: bound it here.
      const r = await withTimeout(lease.keepaliveOnce(), 3000, 'keep-alive not answered within 3 s');
      if (Number(r.TTL) > 0) this.renewedAt = sentAt;
      else throw new Error('lease expired');
    } catch (err) {
      const lost = /expired|not found|revoked/i.test((err as Error).message);
      if (this.fenced() && !this.fencedLogged) {
        this.fencedLogged = true;
        log.error(`cluster network ${this.network}: membership not renewed within ${this.settings.leaseTtl} s; this host is fenced (no new addresses, off the overlay): ${(err as Error).message}`, { network: this.network });
        void this.resync();
      }
      if (lost && this.lease === lease) {
        // etcd expired the lease: register again (new lease, blocks checked) once etcd answers.
        this.lease = undefined;
        this.joined = undefined;
        this.join().catch(() => undefined);
      }
    }
  }

  /** Reads hosts, names and blocks again and applies them: peers' tunnels, remote names, reclaim. */
  resync(): Promise<void> {
    if (this.syncing) {
      this.resyncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.resyncAgain = false;
        await this.syncOnce().catch((err: unknown) => log.debug(`cluster network ${this.network}: resync failed: ${(err as Error).message}`));
      } while (this.resyncAgain && !this.stopped);
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    const offOverlay = this.fenced() || this.isolated;
    if (!offOverlay) {
      const hosts = await this.etcd.getAll().prefix(this.key('hosts', '')).strings();
      const peers = new Map<string, HostRecord>();
      for (const [k, v] of Object.entries(hosts)) {
        const name = k.slice(this.key('hosts', '').length);
        const rec = parseJson<HostRecord>(v);
        if (name !== this.host && rec && typeof rec.underlay === 'string' && Number.isInteger(rec.index)) peers.set(name, rec);
      }
      this.peers = peers;
      await this.syncNames();
      await this.reclaimDeadBlocks(new Set([...peers.keys(), this.host]));
    }
    const desired: Peer[] = offOverlay || this.index === undefined ? [] : [...this.peers.entries()].filter(([, r]) => !r.isolated).map(([host, r]) => ({ host, underlay: r.underlay, index: r.index }));
    await this.dataplane.apply(this.underlay, this.index, desired);
  }

  private async syncNames(): Promise<void> {
    const all = await this.etcd.getAll().prefix(this.key('names', '')).strings();
    const names = new Map<string, string[]>();
    for (const [k, v] of Object.entries(all)) {
      const [name, host] = k.slice(this.key('names', '').length).split('/');
      if (!name || host === this.host) continue;
      const addresses = parseJson<{ addresses?: string[] }>(v)?.addresses ?? [];
      names.set(name, [...(names.get(name) ?? []), ...addresses.filter((a) => typeof a === 'string')]);
    }
    this.options.onRemoteNames(this.network, names);
  }

  /**
   * Frees blocks whose owner has had no membership for the grace period: a txn that compares
   * the block's value as read and the owner's absence, so a host that came back in between
   * keeps its block. The freed block goes to whoever needs one next.
   */
  private async reclaimDeadBlocks(live: Set<string>): Promise<void> {
    const res = await this.etcd.getAll().prefix(this.key('blocks', '')).exec();
    const now = Date.now();
    const seen = new Set<string>();
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      const owner = parseJson<{ host?: string }>(kv.value.toString())?.host;
      if (!owner || live.has(owner)) continue;
      seen.add(key);
      const since = this.absentSince.get(key) ?? now;
      this.absentSince.set(key, since);
      if (now - since < this.settings.reclaimGrace * 1000) continue;
      const r = await this.etcd
        .if(key, 'Mod', '==', kv.mod_revision)
        .and(this.key('hosts', owner), 'Create', '==', 0)
        .then(this.etcd.delete().key(key))
        .commit();
      if (r.succeeded) {
        const block = key.slice(this.key('blocks', '').length);
        this.reclaimed.push(block);
        log.warn(`cluster network ${this.network}: reclaimed block ${block} of host ${owner}, gone for ${Math.round((now - since) / 1000)} s (grace ${this.settings.reclaimGrace} s)`, { network: this.network, block, owner });
      }
    }
    for (const k of [...this.absentSince.keys()]) if (!seen.has(k)) this.absentSince.delete(k);
  }

  status(): ClusterNetworkStatus {
    return {
      network: this.network,
      host: this.host,
      ...(this.index !== undefined ? { index: this.index } : {}),
      ...(this.underlay ? { underlay: this.underlay } : {}),
      ...(this.blocks.length ? { gateway: this.gateway() } : {}),
      blocks: [...this.blocks],
      lostBlocks: [...this.lostBlocks],
      fenced: this.fenced(),
      isolated: this.isolated,
      peers: [...this.peers.entries()].map(([host, r]) => ({ host, underlay: r.underlay, index: r.index, gateway: r.gateway })),
      ...(this.lease ? { renewedAgoMs: Date.now() - this.renewedAt } : {}),
      reclaimed: [...this.reclaimed],
    };
  }

  /**
   * Stops renewing and watching. The lease is not revoked: the tunnels and blocks stay as they
   * are through a restart, and the others see this host go only if it stays away for the TTL.
   * The watches end when the manager closes the client (a cancel would wait for an etcd that
   * may not answer).
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
