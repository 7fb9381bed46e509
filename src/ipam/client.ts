import type * as Http from 'node:http';
import { CniCode, CniError } from '../cni/errors';
import type { IpamErrorBody, IpamReason } from './errors';

/**
 * The client side of jailnetd's API: one HTTP/1.1 request over the unix socket per call (a
 * plugin makes one or two calls in its life), and the translation of the daemon's refusals
 * into CNI errors. Only node:http is loaded, so the plugin starts fast.
 */

export interface ClientOptions {
  socket: string;
  timeoutMs: number;
}

/** node:http, loaded on the first call rather than at start-up (VERSION never needs it). */
let http: typeof Http | undefined;
function loadHttp(): typeof Http {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (http ??= require('node:http') as typeof Http);
}

/** The daemon could not be reached at all. */
export class DaemonUnreachable extends Error {
  constructor(
    readonly socket: string,
    /** ENOENT and ECONNREFUSED: nobody listens (the daemon may be started); others: something else is wrong. */
    readonly absent: boolean,
    readonly errno: string,
  ) {
    super(
      errno === 'EACCES'
        ? `permission denied connecting to jailnetd at ${socket}`
        : absent
          ? `jailnetd is not running (nothing listens on ${socket})`
          : `cannot reach jailnetd at ${socket} (${errno})`,
    );
    this.name = 'DaemonUnreachable';
  }
}

/** The daemon answered with an error. */
export class DaemonRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: IpamErrorBody['error'],
  ) {
    super(body.message);
    this.name = 'DaemonRefusal';
  }
}

/**
 * A jailnetd running in this very process: its socket, and how it answers a request without
 * HTTP. jailnetd runs runj's hook chains itself (daemon/api/hook.ts); their plugins' calls to the
 * daemon whose socket they name then go straight to its router (daemon/server.ts
 * answerInProcess): the same checks and answers, without a connection, an HTTP request and its
 * parsing on both sides of one process (about a tenth of jailnetd's CPU per attach,
 * docs/performance.md). A configuration naming another socket still goes over HTTP.
 */
export type InProcessDaemon = (method: 'GET' | 'POST', path: string, payload: string | undefined) => Promise<{ status: number; text: string }>;
const inProcess = new Map<string, InProcessDaemon>();

/** Registers (or, without `daemon`, removes) the jailnetd of this process under its socket. */
export function serveInProcess(socket: string, daemon: InProcessDaemon | undefined): void {
  if (daemon) inProcess.set(socket, daemon);
  else inProcess.delete(socket);
}

/** The outcome of an answer, whichever way it came. */
function settle<T>(method: string, path: string, status: number, text: string): T {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CniError(CniCode.IpamFailure, `jailnetd answered ${method} ${path} with status ${status} and a body that is not JSON`, text.slice(0, 500));
  }
  if (status >= 200 && status < 300) return doc as T;
  const e = (doc as Partial<IpamErrorBody>).error;
  throw new DaemonRefusal(status, e && typeof e.message === 'string' ? e : { reason: 'internal', message: `status ${status}` });
}

function notAnswered(opts: ClientOptions, method: string, path: string): CniError {
  return new CniError(CniCode.TryAgainLater, `jailnetd at ${opts.socket} did not answer ${method} ${path} within ${opts.timeoutMs / 1000} s`, 'check that jailnetd is running and not stuck (its log, `service jailnetd status`)');
}

export function callDaemon<T>(opts: ClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const local = inProcess.get(opts.socket);
  if (local) {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(notAnswered(opts, method, path)), opts.timeoutMs);
      local(method, path, payload).then(
        (a) => {
          clearTimeout(timer);
          try {
            resolve(settle<T>(method, path, a.status, a.text));
          } catch (err) {
            reject(err);
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
  return new Promise<T>((resolve, reject) => {
    const req = loadHttp().request(
      {
        socketPath: opts.socket,
        path,
        method,
        agent: false,
        timeout: opts.timeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve(settle<T>(method, path, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(notAnswered(opts, method, path)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof CniError) return reject(err);
      const code = err.code ?? 'EIO';
      reject(new DaemonUnreachable(opts.socket, code === 'ENOENT' || code === 'ECONNREFUSED', code));
    });
    req.end(payload);
  });
}

const CODE_OF_REASON: Partial<Record<IpamReason, number>> = {
  'invalid-config': CniCode.InvalidNetworkConfig,
  'address-not-allowed': CniCode.InvalidNetworkConfig,
  'address-held': CniCode.ResourceConflict,
  'port-conflict': CniCode.ResourceConflict,
  'pool-exhausted': CniCode.ResourceConflict,
  'lease-mismatch': CniCode.ResourceConflict,
  'no-lease': CniCode.CheckFailed,
  'lease-out-of-range': CniCode.CheckFailed,
  'port-in-use': CniCode.ResourceConflict,
  'port-published': CniCode.ResourceConflict,
  'check-failed': CniCode.CheckFailed,
  'not-ready': CniCode.NotAvailable,
  'host-command-failed': CniCode.HostCommandFailed,
  unavailable: CniCode.TryAgainLater,
  'cluster-unavailable': CniCode.TryAgainLater,
  'malformed-body': CniCode.Internal,
  'invalid-request': CniCode.Internal,
  'not-found': CniCode.Internal,
  'method-not-allowed': CniCode.Internal,
};

/** A CNI error for anything callDaemon threw. `fieldPrefix` turns the daemon's "ranges[0]..." into "ipam.ranges[0]...". */
export function toCniError(err: unknown, fieldPrefix = 'ipam.'): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof DaemonUnreachable) {
    return new CniError(
      CniCode.NotAvailable,
      err.message,
      err.errno === 'EACCES' ? 'the socket is for root only: run the CNI runtime as root' : 'start it (service jailnetd start), or set "autostart": true in the ipam configuration',
    );
  }
  if (err instanceof DaemonRefusal) {
    const e = err.body;
    let message = e.message;
    if (e.reason === 'invalid-config' && e.field) message = `network configuration: field "${fieldPrefix}${e.field}": ${message.replace(`${e.field}: `, '')}`;
    return new CniError(CODE_OF_REASON[e.reason] ?? CniCode.IpamFailure, message, e.details ?? '');
  }
  return CniError.from(err);
}
