import type { IpamState } from '../src/ipam/state';
import type { StateRecord } from '../src/ipam/records';
import type { RangeSetConfig } from '../src/ipam/range';
import type { StateStore } from '../src/ipam/store/store';
import type { DaemonConfig } from './config';
import type { ClusterManager } from './cluster/manager';
import type { DnsService } from './dns/service';
import type { FirewallOwner } from './firewall';
import type { Metrics } from './metrics';
import type { ReclaimStatus } from './reclaim';

/** What every API handler works with. */
export interface DaemonContext {
  readonly state: IpamState;
  readonly store: StateStore;
  readonly metrics: Metrics;
  /** NAT, port forwards, the userland proxy and the ordered teardown of attachments. */
  readonly firewall: FirewallOwner;
  /** The DNS server on the networks' gateways; its names follow the leases. */
  readonly dns: DnsService;
  /** Cluster networks (etcd, blocks, the vxlan overlay): docs/cluster.md. */
  readonly cluster: ClusterManager;
  readonly config: DaemonConfig;
  readonly version: string;
  readonly startedAt: number;
  reclaimStatus(): ReclaimStatus;
  /**
   * Makes the records durable (and everything changed before them); resolves only then. With
   * no records it waits for changes already made to be durable, so that nothing is reported
   * that a crash could still take back.
   */
  commit(records: readonly StateRecord[]): Promise<void>;
  /**
   * Refuses ranges (IpamError invalid-config) that overlap the host's own addresses or routes.
   * The host is read the first time a set of ranges comes, not at every allocation.
   */
  checkHostConflicts(ranges: readonly RangeSetConfig[], ownBridge?: string): Promise<void>;
}

export interface ApiRequest {
  body: unknown;
  query: URLSearchParams;
}

export interface ApiReply {
  status?: number;
  body: unknown;
  /** Set for non-JSON replies (metrics); the body is then a string. */
  contentType?: string;
}

export type Handler = (ctx: DaemonContext, req: ApiRequest) => Promise<ApiReply>;
