import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Etcd3Module from 'etcd3';
import { clusterSettings, type ClusterConfig, type ClusterSettings } from '../../src/cluster/config';
import { IpamError } from '../../src/ipam/errors';
import { log } from '../../src/log/logger';
import { ClusterNetwork, type ClusterNetworkStatus } from './network';

/**
 * jailnetd's cluster networks (docs/cluster.md). jailnetd is the only etcd client of the host;
 * the client library (etcd3, gRPC) is loaded the first time a cluster network is used, so a
 * host with local networks only never loads it (scripts/build.mjs embeds it compressed).
 * One client per set of endpoints and TLS files.
 */
/** In the state directory: the cluster networks this host serves, joined again at start. */
const CLUSTER_FILE = 'cluster-networks.json';

interface SavedNetwork {
  cluster: ClusterConfig;
  subnet: string;
  bridge?: string;
}

export class ClusterManager {
  private readonly networks = new Map<string, ClusterNetwork>();
  private readonly clients = new Map<string, Etcd3Module.Etcd3>();

  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly hostName: string,
    private readonly stateDir: string,
    private readonly onRemoteNames: (network: string, names: Map<string, string[]>) => void,
    private readonly localAddresses: (network: string) => string[],
  ) {}

  /**
   * At start: joins again the cluster networks this host served before (their settings are kept
   * in the state directory), without waiting, so that the tunnels come back and the membership
   * is renewed before the others reclaim this host's blocks. An etcd that does not answer is
   * tried again every few seconds; start-up does not wait for it.
   */
  resume(): void {
    const file = join(this.stateDir, CLUSTER_FILE);
    if (!existsSync(file)) return;
    let saved: Record<string, SavedNetwork>;
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, SavedNetwork>;
    } catch (err) {
      log.warn(`cannot read ${file}: ${(err as Error).message}; cluster networks are joined at their next attach`);
      return;
    }
    const pending = new Map(Object.entries(saved));
    const attempt = () => {
      for (const [name, n] of pending) {
        this.network(name, n.cluster, n.subnet, n.bridge, false).then(
          () => pending.delete(name),
          (err: unknown) => log.warn(`cluster network ${name}: not joined yet: ${(err as Error).message}`),
        );
      }
      if (pending.size > 0) this.retry = setTimeout(attempt, 5_000).unref();
    };
    attempt();
  }

  private save(name: string, saved: SavedNetwork): void {
    const file = join(this.stateDir, CLUSTER_FILE);
    let all: Record<string, SavedNetwork> = {};
    try {
      all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, SavedNetwork>;
    } catch {
      /* first one */
    }
    if (JSON.stringify(all[name]) === JSON.stringify(saved)) return;
    all[name] = saved;
    writeFileSync(`${file}.tmp`, JSON.stringify(all), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  /** The network's cluster state, joined; a changed cluster object (another VNI, prefix...) is refused. */
  async network(name: string, config: ClusterConfig, subnet: string, bridge: string | undefined, save = true): Promise<ClusterNetwork> {
    const settings = clusterSettings(config, subnet);
    let net = this.networks.get(name);
    if (net && JSON.stringify(net.settings) !== JSON.stringify(settings)) {
      throw new IpamError('invalid-config', `cluster network ${name}: its cluster settings differ from the ones jailnetd serves it with`, 'every attachment of a network uses one network file; restart jailnetd after changing it', { field: 'cluster' });
    }
    if (!net) {
      net = new ClusterNetwork({ network: name, settings, subnet, hostName: this.hostName, etcd: this.client(settings), onRemoteNames: this.onRemoteNames, localAddresses: this.localAddresses });
      this.networks.set(name, net);
    }
    net.setBridge(bridge);
    await net.join();
    if (save) this.save(name, { cluster: config, subnet, ...(net.dataplane.bridge ? { bridge: net.dataplane.bridge } : {}) });
    return net;
  }

  /** A known cluster network (after its first attachment since start), for release. */
  known(name: string): ClusterNetwork | undefined {
    return this.networks.get(name);
  }

  private client(settings: ClusterSettings): Etcd3Module.Etcd3 {
    const key = JSON.stringify([settings.endpoints, settings.tls]);
    let c = this.clients.get(key);
    if (!c) {
      const { Etcd3 } = require('etcd3') as typeof Etcd3Module;
      const read = (field: string, path: string) => {
        try {
          return readFileSync(path);
        } catch (err) {
          throw new IpamError('invalid-config', `cluster.tls.${field}: cannot read ${path}: ${(err as Error).message}`, 'name a readable PEM file', { field: `cluster.tls.${field}` });
        }
      };
      const tls = settings.tls;
      c = new Etcd3({
        hosts: settings.endpoints,
        ...(tls ? { credentials: { rootCertificate: read('ca', tls.ca), ...(tls.cert && tls.key ? { certChain: read('cert', tls.cert), privateKey: read('key', tls.key) } : {}) } } : {}),
        dialTimeout: 3000,
        // Unary calls give up after 3 s (an attach waits no longer for a dead etcd); watches are streams.
        defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 3000 }),
      });
      this.clients.set(key, c);
    }
    return c;
  }

  status(): ClusterNetworkStatus[] {
    return [...this.networks.values()].map((n) => n.status());
  }

  async stop(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    for (const n of this.networks.values()) n.stop();
    for (const c of this.clients.values()) c.close();
  }
}
