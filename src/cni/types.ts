/**
 * CNI data types. Inside jailnet every result is held in the 1.x shape (`Result`);
 * `result.ts` converts from and to the 0.3.x/0.4.0 shape at the edges.
 */

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The jail name for an interface inside a jail; absent for host interfaces. */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IpConfig {
  /** CIDR: address and prefix length, e.g. "10.88.0.5/16". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A CNI result in the 1.0.0/1.1.0 shape. */
export interface Result {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: IpConfig[];
  routes?: Route[];
  dns?: Dns;
}

/** The 0.3.0/0.3.1/0.4.0 shape. */
export interface LegacyResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { version: '4' | '6'; address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Dns;
}

/** One attachment as named by CNI GC's `cni.dev/valid-attachments`. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The fields every network configuration shares (SPEC.md "Network configuration"). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  args?: { cni?: { ips?: string[] } & Record<string, unknown> } & Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  capabilities?: Record<string, boolean>;
  prevResult?: unknown;
  ipam?: { type?: string } & Record<string, unknown>;
  dns?: Dns;
  'cni.dev/valid-attachments'?: Attachment[];
  'cni.dev/attachments'?: Attachment[];
  [key: string]: unknown;
}
