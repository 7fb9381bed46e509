/**
 * The bodies of jailnetd's HTTP API (version 1), shared by the daemon and its client. The JSON
 * schemas that check requests are in src/config/schemas/ipam-api.ts.
 */
import type { PortMapping } from '../portmap/mappings';
import type { PublishTarget } from '../portmap/plan';
import type { ClusterConfig } from '../cluster/config';
import type { RangeConfig } from './range';
import type { PortProtocol } from './ports';

export const API_PREFIX = '/v1';

export interface AttachmentRef {
  network: string;
  containerID: string;
  ifname: string;
}

export interface AllocateRequest extends AttachmentRef {
  /** CNI_NETNS: the jail the attachment is for. */
  jail?: string;
  /** host-local's `ranges`. A different value than last time changes the network (see docs/ipam.md). */
  ranges: RangeConfig[][];
  /** Static requests: addresses, with or without prefix. */
  ips?: string[];
  /**
   * The bridge the network's gateway is on (the delegating plugin is bridge): its addresses are
   * the network's own, not the host's, when the ranges are compared with the host.
   */
  bridge?: string;
  /**
   * The attachment uses the network's DNS server (docs/dns.md): its names (the first is the one
   * PTR gives; may be empty) and the network's domain. Absent: no DNS for this attachment.
   */
  dns?: { names: string[]; domain?: string };
  /** A cluster network (docs/cluster.md): the network file's `ipam.cluster`. */
  cluster?: ClusterConfig;
}

export interface LeaseIpView {
  /** CIDR, e.g. "10.88.0.5/16". */
  address: string;
  gateway?: string;
  static: boolean;
}

export interface LeaseView extends AttachmentRef {
  jail?: string;
  ips: LeaseIpView[];
  createdAt: string;
  /** False when the network's ranges changed and can no longer hand out one of its addresses. */
  inRange: boolean;
}

export interface AllocateResponse {
  lease: LeaseView;
  /** False when the attachment already held this lease (a repeated ADD). */
  created: boolean;
}

export type ReleaseRequest = AttachmentRef;

/** POST /v1/dns/serve: the attachment's gateway is in place; serve DNS on it. */
export type DnsServeRequest = AttachmentRef;

export interface DnsServeResponse {
  /** The gateway addresses the server listens on for the attachment (its jail's nameservers). */
  nameservers: string[];
  domain?: string;
  names: string[];
}

export interface DnsNetworkView {
  network: string;
  domain?: string;
  attachments: number;
  /** Gateway addresses and whether the server listens there (udp and tcp, port 53). */
  listeners: { address: string; listening: boolean; error?: string }[];
  records: { name: string; addresses: string[] }[];
}

export interface DnsStatusResponse {
  networks: DnsNetworkView[];
  upstreams: string[];
  resolvConf: string;
}
export interface ReleaseResponse {
  released: LeaseView | null;
}

export interface CheckRequest extends AttachmentRef {
  /** The ranges the caller has now; the lease is checked against them when given. */
  ranges?: RangeConfig[][];
}
export interface CheckResponse {
  lease: LeaseView;
}

export interface GcRequest {
  network: string;
  validAttachments: { containerID: string; ifname: string }[];
}
export interface GcResponse {
  released: LeaseView[];
  releasedPorts: PortReservationView[];
  /** NAT memberships and port forwards removed (of attachments not valid), and host ends destroyed. */
  removedNat: NatView[];
  removedForwards: AttachmentRef[];
  /** Installed state no recorded attachment owned: port-forward anchors and NAT table entries. */
  removedStale: string[];
  destroyedInterfaces: string[];
}

/** POST /v1/ingress/add and /v1/ingress/check: the firewall plugin's ingress policy of an attachment. */
export interface IngressRequest extends AttachmentRef {
  jail?: string;
  policy: 'same-bridge' | 'isolated';
  bridge: string;
  subnets: { cidr: string; gateway?: string }[];
}

export interface NatAddRequest extends AttachmentRef {
  jail?: string;
  /** IPv4 addresses of the jail. */
  addresses: string[];
  egressInterface?: string;
}

export interface NatView extends AttachmentRef {
  jail?: string;
  addresses: string[];
}

export interface NatAddResponse {
  nat: NatView;
  /** Per requested address: false when the attachment already held it (an undo leaves those). */
  added: { address: string; created: boolean }[];
  /** Why the NAT may not work now (pf disabled, hooks missing), for the plugin's log. */
  warnings?: string[];
}

export interface NatRemoveRequest extends AttachmentRef {
  /** The addresses to take out; all of the attachment's when absent. */
  addresses?: string[];
}

export interface NatRemoveResponse {
  /** What the attachment held and no longer holds (never another attachment's). */
  removed: string[];
}

export interface NatCheckRequest extends AttachmentRef {
  addresses: string[];
}

export interface PublishRequest extends AttachmentRef {
  jail?: string;
  mappings: PortMapping[];
  target: PublishTarget;
  externalInterface?: string;
  snat: boolean;
  userlandProxy: boolean;
}

export interface ListenerView {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
}

export interface ForwardView extends AttachmentRef {
  jail?: string;
  mappings: PortMapping[];
  target: PublishTarget;
  externalInterface?: string;
  snat: boolean;
  userlandProxy: boolean;
  /** The userland proxy's listening sockets for these forwards. */
  listeners: ListenerView[];
}

export interface PublishResponse {
  forward: ForwardView;
  /** The host ports reserved, each false when the attachment already held it (a repeated ADD). */
  ports: (PortEntryView & { created: boolean })[];
}

export interface UnpublishResponse {
  released: PortEntryView[];
}

export interface PortRequestEntry {
  hostIP?: string;
  protocol: PortProtocol;
  hostPort: number;
  hostPortEnd?: number;
}

export interface PortsReserveRequest extends AttachmentRef {
  jail?: string;
  ports: PortRequestEntry[];
}

export interface PortsReleaseRequest extends AttachmentRef {
  /** The entries to release; all of the attachment's when absent. */
  ports?: PortRequestEntry[];
}

export interface PortEntryView {
  hostIP: string;
  protocol: PortProtocol;
  hostPort: number;
  hostPortEnd: number;
}

export interface PortReservationView extends AttachmentRef {
  jail?: string;
  ports: PortEntryView[];
}

export interface RangeSetStatus {
  family: 4 | 6;
  ranges: Required<RangeConfig>[];
  /** Counts are exact up to 2^53; above that (large IPv6 ranges) they are approximate. */
  capacity: number;
  held: number;
  free: number;
  cursor?: string;
}

export interface NetworkStatus {
  name: string;
  rangeSets: RangeSetStatus[];
  leases: number;
  /** How many more attachments fit (free addresses of the fullest range set). */
  attachmentsLeft: number;
  configChangedAt?: string;
  /** Leases whose addresses the current ranges cannot hand out; kept until their attachment goes. */
  outOfRange: LeaseView[];
}

export interface StatusResponse {
  version: string;
  pid: number;
  startedAt: string;
  socket: string;
  stateDir: string;
  leases: number;
  portReservations: number;
  networks: NetworkStatus[];
  store: { generation: number; journalRecords: number; journalBytes: number; lastSnapshotAt?: string; commits: number };
  reclaim: { intervalSeconds: number; graceSeconds: number; lastRunAt?: string; lastError?: string; missing: { jail: string; since: string; attachments: number }[] };
}
