/**
 * CNI error codes (SPEC.md "Error") and the error type every layer throws.
 * The dispatcher turns any CniError into the error JSON on stdout.
 */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableLimitedConnectivity: 51,
  /** Plugin-specific: a host command failed (see details for the command line and stderr). */
  HostCommandFailed: 100,
  /** Plugin-specific: the IPAM daemon refused or failed the request. */
  IpamFailure: 101,
  /** Plugin-specific: an address pool or a host port is exhausted or already held. */
  ResourceConflict: 102,
  /** Plugin-specific: CHECK found the attachment different from what ADD left (the message says what). */
  CheckFailed: 103,
  /** Internal error: a bug; the message says where. */
  Internal: 999,
} as const;

export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, msg: string, details = '') {
    super(msg);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }

  toJSON(cniVersion: string): CniErrorJson {
    const out: CniErrorJson = { cniVersion, code: this.code, msg: this.message };
    if (this.details) out.details = this.details;
    return out;
  }

  /** Wraps anything thrown into a CniError, keeping a CniError as it is. */
  static from(err: unknown, context?: string): CniError {
    if (err instanceof CniError) {
      if (!context) return err;
      return new CniError(err.code, `${context}: ${err.message}`, err.details);
    }
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { cniCode?: number } | null)?.cniCode ?? CniCode.Internal;
    const details = (err as { details?: string } | null)?.details ?? '';
    return new CniError(code, context ? `${context}: ${message}` : message, details);
  }
}

/**
 * Runs every task even when some fail (GC must remove as much as it can, as libcni's
 * GCNetworkList does), then throws one CniError naming every failure, with the first one's code.
 */
export async function runAll(tasks: Iterable<() => Promise<unknown>>): Promise<void> {
  const failures: CniError[] = [];
  for (const task of tasks) {
    try {
      await task();
    } catch (err) {
      failures.push(CniError.from(err));
    }
  }
  const first = failures[0];
  if (!first) return;
  if (failures.length === 1) throw first;
  throw new CniError(first.code, failures.map((f) => f.message).join('; '), failures.map((f) => f.details).filter(Boolean).join('\n'));
}
