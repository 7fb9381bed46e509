/**
 * Why jailnetd refuses a request. Each reason has one HTTP status; the IPAM plugin turns the
 * reason into a CNI error code (src/ipam/client.ts). The message says what was refused and
 * the details say how to fix it, because both reach the operator unchanged.
 */

export const IPAM_REASONS = {
  /** The body is not JSON, too large, or of the wrong media type. */
  'malformed-body': 400,
  /** The body does not match the endpoint's schema (`field` names the JSON path). */
  'invalid-request': 400,
  /** The network's IPAM configuration is wrong (`field` names the path inside the ipam object). */
  'invalid-config': 400,
  /** A requested static address is not an address, or not one this network can hand out. */
  'address-not-allowed': 422,
  /** A requested static address or host port is held by another attachment (`holder`). */
  'address-held': 409,
  'port-conflict': 409,
  /** No free address left in a range set. */
  'pool-exhausted': 409,
  /** The attachment already holds a lease that differs from what was asked for. */
  'lease-mismatch': 409,
  /** CHECK: no lease, or a lease outside the network's current ranges. */
  'no-lease': 404,
  'lease-out-of-range': 409,
  /** Another program holds a host port the userland proxy must listen on. */
  'port-in-use': 409,
  /** A host port a port forward publishes cannot be released on its own (remove the forward). */
  'port-published': 409,
  /** CHECK of NAT or port forwards found a difference (the message says what). */
  'check-failed': 409,
  /** pf cannot carry the rules asked for (disabled, or the main ruleset lacks jailnet's hooks). */
  'not-ready': 503,
  /** A host command (pfctl, ifconfig, route) failed; the message has the command line. */
  'host-command-failed': 502,
  'not-found': 404,
  'method-not-allowed': 405,
  /**
   * A cluster network cannot be served: etcd unreachable, this host's membership not renewed
   * within its TTL (fenced), or a block lost while fenced (docs/cluster.md).
   */
  'cluster-unavailable': 503,
  /** The state store failed; the daemon stops and is restarted with its state from disk. */
  unavailable: 503,
  internal: 500,
} as const;

export type IpamReason = keyof typeof IPAM_REASONS;

/** Who holds an address or a port, for conflict messages. */
export interface Holder {
  network: string;
  containerID: string;
  ifname: string;
  jail?: string;
}

export interface IpamErrorBody {
  error: {
    reason: IpamReason;
    message: string;
    details?: string;
    field?: string;
    holder?: Holder;
  };
}

export class IpamError extends Error {
  readonly reason: IpamReason;
  readonly details: string;
  readonly field: string | undefined;
  readonly holder: Holder | undefined;

  constructor(reason: IpamReason, message: string, details = '', extra: { field?: string; holder?: Holder } = {}) {
    super(message);
    this.name = 'IpamError';
    this.reason = reason;
    this.details = details;
    this.field = extra.field;
    this.holder = extra.holder;
  }

  get status(): number {
    return IPAM_REASONS[this.reason];
  }

  toBody(): IpamErrorBody {
    const error: IpamErrorBody['error'] = { reason: this.reason, message: this.message };
    if (this.details) error.details = this.details;
    if (this.field !== undefined) error.field = this.field;
    if (this.holder) error.holder = this.holder;
    return { error };
  }
}

export function describeHolder(h: Holder): string {
  const jail = h.jail && h.jail !== h.containerID ? `, jail ${h.jail}` : '';
  return `container ${h.containerID} interface ${h.ifname} on network ${h.network}${jail}`;
}
