import { mkdirSync, unlinkSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { JailInfo } from '../src/freebsd/parse/jls';
import type { StateRecord } from '../src/ipam/records';
import type { FirewallDriver } from '../src/firewall/driver';
import { firewallDriver } from '../src/firewall/pf';
import { serveInProcess } from '../src/ipam/client';
import { IpamState } from '../src/ipam/state';
import { resolvePoolConfig, type RangeSetConfig } from '../src/ipam/range';
import { HOST_CONFLICT_HINT, hostConflict, type HostNetworks } from '../src/link/host-conflicts';
import { FileStore } from '../src/ipam/store/file-store';
import { acquireStateLock, type StateLock } from '../src/ipam/store/state-lock';
import { IpamError } from '../src/ipam/errors';
import { log } from '../src/log/logger';
import type { DaemonConfig } from './config';
import type { DaemonContext } from './context';
import { ClusterManager } from './cluster/manager';
import { DnsService } from './dns/service';
import { FirewallOwner } from './firewall';
import { collectGarbageOnce, IdleCollector } from './heap';
import { Metrics } from './metrics';
import { UserlandProxy } from './proxy';
import { ReclaimLoop } from './reclaim';
import { answerInProcess, createApiServer } from './server';
import { listenOnSocket } from './socket';

/**
 * jailnetd's life: take the state directory's lock, read the state, listen, check jails
 * periodically; on SIGTERM finish what is in flight and leave. When the store fails (a write
 * or fsync error) the daemon stops at once rather than answer from state that is not on disk;
 * daemon(8) restarts it and it reads the state back.
 */

/** How long the API must be quiet after a request before the idle collection (daemon/heap.ts). */
export const IDLE_COLLECT_MS = 2000;

export interface DaemonOptions {
  config: DaemonConfig;
  version: string;
  listJails: () => Promise<JailInfo[]>;
  /** The firewall backend; the host's (pf) when absent. */
  firewall?: FirewallDriver;
  /** Reads the host's own addresses and routes (config.hostCheck). */
  readHostNetworks: () => Promise<HostNetworks>;
}

export class Daemon {
  private readonly config: DaemonConfig;
  private readonly state = new IpamState();
  private readonly store: FileStore;
  private readonly metrics = new Metrics();
  private readonly ctx: DaemonContext;
  private readonly firewall: FirewallOwner;
  private readonly dns: DnsService;
  private readonly cluster: ClusterManager;
  private readonly reclaim: ReclaimLoop;
  /** Gives back the memory a burst of requests leaves, once the API is quiet (daemon/heap.ts). */
  private readonly idle = new IdleCollector(IDLE_COLLECT_MS);
  private server: Server | undefined;
  private lock: StateLock | undefined;
  private stopping = false;
  private failed: Error | undefined;
  /** Ranges (canonical text) already compared with the host, or being compared. */
  private readonly hostChecked = new Map<string, Promise<void>>();

  constructor(private readonly options: DaemonOptions) {
    this.config = options.config;
    this.store = new FileStore({
      dir: this.config.stateDir,
      compactAfter: this.config.compactAfterRecords,
      snapshotSource: () => this.state.snapshotRecords(),
      warn: (m) => log.warn(m),
    });
    const driver = options.firewall ?? firewallDriver();
    this.firewall = new FirewallOwner({ state: this.state, commit: (records) => this.commit(records), driver, proxy: new UserlandProxy() });
    // Before the state is read: its index of names is built from the leases as they are read back.
    this.dns = new DnsService(this.state, driver, { ...this.config.dns, port: 53 });
    this.cluster = new ClusterManager(
      this.config.hostName,
      this.config.stateDir,
      (network, names) => this.dns.index.setRemoteNames(network, names),
      (network) => this.state.leases({ network }).flatMap((l) => l.ips.map((ip) => ip.address)),
      (network) =>
        new Map(
          [...this.state.forwards.values()]
            .filter((f) => f.network === network)
            .map((f) => [`${f.containerID}/${f.ifname}`, JSON.stringify({ jail: f.jail, target: f.target, mappings: f.mappings })]),
        ),
      // As publishNames writes them (daemon/api/leases.ts).
      (network) =>
        new Map(
          this.state.leases({ network }).flatMap((l) => (l.names ?? []).map((name) => [`${name}/${l.containerID}/${l.ifname}`, JSON.stringify({ addresses: l.ips.map((ip) => ip.address) })] as const)),
        ),
    );
    this.ctx = {
      state: this.state,
      cluster: this.cluster,
      store: this.store,
      metrics: this.metrics,
      firewall: this.firewall,
      dns: this.dns,
      config: this.config,
      version: options.version,
      startedAt: Date.now(),
      reclaimStatus: () => this.reclaim.status(),
      commit: (records) => this.commit(records),
      checkHostConflicts: (ranges, ownBridge) => this.checkHostConflicts(ranges, ownBridge),
    };
    this.reclaim = new ReclaimLoop(this.ctx, options.listJails);
  }

  private checkHostConflicts(ranges: readonly RangeSetConfig[], ownBridge?: string): Promise<void> {
    if (!this.config.hostCheck) return Promise.resolve();
    const resolved = resolvePoolConfig(ranges as RangeSetConfig[]);
    const key = `${resolved.canonical}\0${ownBridge ?? ''}`;
    let check = this.hostChecked.get(key);
    if (!check) {
      check = this.options.readHostNetworks().then(
        (host) => {
          resolved.rangeSets.forEach((set, i) =>
            set.ranges.forEach((r, j) => {
              const conflict = hostConflict(r.subnet, host, ownBridge);
              const field = `ranges[${i}][${j}].subnet`;
              if (conflict) throw new IpamError('invalid-config', `${field}: ${conflict}`, HOST_CONFLICT_HINT, { field });
            }),
          );
        },
        (err: unknown) => {
          throw new IpamError('internal', `cannot compare the ranges with the host's addresses and routes: ${(err as Error).message}`, 'check that ifconfig and netstat work, or start jailnetd with --no-host-check');
        },
      );
      this.hostChecked.set(key, check);
      // A refusal stays (the same ranges are refused without asking the host again, until a
      // restart); a failure to read the host is tried again next time.
      check.catch((err: unknown) => {
        if (!(err instanceof IpamError && err.reason === 'invalid-config')) this.hostChecked.delete(key);
      });
    }
    return check;
  }

  async start(): Promise<void> {
    const started = Date.now();
    mkdirSync(this.config.stateDir, { recursive: true, mode: 0o700 });
    this.lock = await acquireStateLock(this.config.stateDir);
    const report = await this.store.open((r) => this.state.apply(r));
    for (const w of [...report.warnings, ...this.state.warnings]) log.warn(w);
    this.firewall.resumeNat();
    const readMs = Date.now() - started;
    // The proxy's sockets are back before the first answer: a runtime that sees the daemon up
    // finds its published ports served.
    const listeners = await this.firewall.rebuildProxies();
    // So are the DNS server's, on the gateways the leases name: a jail's resolver retries
    // through the restart (docs/dns.md).
    const dnsListeners = await this.dns.start();
    this.server = createApiServer(this.ctx, () => this.stopping || this.failed !== undefined);
    this.server.on('request', (_req, res: ServerResponse) => {
      this.idle.begin();
      res.once('close', () => this.idle.end());
    });
    await listenOnSocket(this.server, this.config.socket);
    // The hook chains this daemon runs (api/hook.ts) reach it without HTTP (src/ipam/client.ts).
    const isStopping = () => this.stopping || this.failed !== undefined;
    serveInProcess(this.config.socket, async (method, path, payload) => {
      this.idle.begin();
      try {
        return await answerInProcess(this.ctx, isStopping, method, path, payload);
      } finally {
        this.idle.end();
      }
    });
    this.reclaim.start();
    this.cluster.resume();
    // Both after the socket answers: loading the logger takes ~40 ms and a full collection of a
    // large state tens of ms, neither of which a runtime waiting for its first answer should pay.
    const startedLine = `jailnetd ${this.options.version} started: listening on ${this.config.socket}; state read: ${this.state.leaseCount} leases in ${this.state.networks.size} networks, ${this.state.ports.reservations.size} port reservations, ${this.state.forwards.size} port forwards (${listeners} proxy sockets), DNS on ${dnsListeners} gateway addresses (${report.records} records, ${readMs} ms)`;
    setImmediate(() => log.info(startedLine, { pid: process.pid, stateDir: this.config.stateDir, configFile: this.config.configFile, uptimeMs: Math.round(process.uptime() * 1000) }));
    if (report.records > 10_000) setTimeout(collectGarbageOnce, 1000).unref();
  }

  /** For tests and the admin: run the jail check now. */
  checkJails(): Promise<void> {
    return this.reclaim.runOnce();
  }

  private async commit(records: readonly StateRecord[]): Promise<void> {
    if (this.failed) throw new IpamError('unavailable', `jailnetd cannot save its state: ${this.failed.message}`, 'it is restarting; retry in a moment');
    try {
      await (records.length > 0 ? this.store.append(records) : this.store.barrier());
    } catch (err) {
      this.fail(err as Error);
      throw new IpamError('unavailable', `jailnetd cannot save its state: ${(err as Error).message}`, 'it is restarting; retry in a moment');
    }
  }

  /** Fail-stop: memory may now hold changes the disk does not. */
  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    log.error(`state store failed, stopping so that the state is read back from disk: ${err.message}`);
    setTimeout(() => process.exit(70), 100).unref();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.idle.cancel();
    await this.reclaim.stop();
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref());
      await Promise.race([closed, timeout]);
      server.closeAllConnections();
      // With the socket: a chain still running after the 5 s is where it was before this one.
      serveInProcess(this.config.socket, undefined);
      try {
        unlinkSync(this.config.socket);
      } catch {
        /* already gone */
      }
    }
    await this.cluster.stop();
    await this.firewall.proxy.closeAll();
    await this.dns.stop();
    await this.store.close();
    this.lock?.release();
    log.info('stopped');
  }
}
