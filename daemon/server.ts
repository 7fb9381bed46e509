import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { IpamError } from '../src/ipam/errors';
import { log } from '../src/log/logger';
import type { DaemonContext } from './context';
import { ROUTES } from './routes';

/**
 * HTTP/1.1 over the unix socket: routing, JSON bodies in and out, and one error shape
 * ({"error": {"reason", "message", "details", "field", "holder"}}) for every refusal.
 */

export const MAX_BODY_BYTES = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = answerText({ body, contentType });
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new IpamError('malformed-body', `request body is larger than ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') throw new IpamError('malformed-body', 'request body is empty', 'send a JSON object, e.g. curl -d \'{"network": ...}\'');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new IpamError('malformed-body', `request body is not valid JSON: ${(err as Error).message}`, 'send a JSON object');
  }
}

/**
 * At most this many connections at once; more are closed at once by node:http. Each runtime call
 * makes one short connection, so this is far above what a host starting hundreds of jails at
 * once needs, and far below the descriptors the process may open.
 */
export const MAX_CONNECTIONS = 1024;

export function createApiServer(ctx: DaemonContext, isStopping: () => boolean): Server {
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) => {
    // handle() answers every refusal itself; this catches only a failure to send an answer.
    handle(ctx, req, res, isStopping).catch((err: unknown) => {
      safeLog(() => log.error(`answering ${safeText(req.method)} ${safeText(req.url)} failed: ${(err as Error)?.message ?? String(err)}`));
      res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP (node's parser), headers too large or too slow: answer 400/431/408 when the
    // socket can still take it, then close.
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
    safeLog(() => log.debug(`bad HTTP from a client: ${err.message}`));
  });
  // Errors of the listening socket after listen() (EMFILE on accept...): logged, never thrown.
  server.on('listening', () => {
    server.on('error', (err) => safeLog(() => log.error(`socket error: ${err.message}`)));
  });
  return server;
}

/**
 * The request target as a URL, or undefined when it is none: origin form (`/v1/health?x`, where
 * `//x` is a path, not a host) or absolute form (`http://h/v1/health`, RFC 9112 3.2.2). Never
 * throws: `new URL('//[', base)` does, and that killed the daemon (issue 10 item 6).
 */
function parseTarget(target: string | undefined): URL | undefined {
  if (target === undefined) return undefined;
  try {
    if (target.startsWith('/')) return new URL(`http://jailnetd${target}`);
    if (/^http:\/\//i.test(target)) return new URL(target);
  } catch {
    /* not a URL */
  }
  return undefined;
}

const safeText = (v: unknown) => JSON.stringify(String(v ?? '')).slice(0, 200);

/** Logging must never turn an answered request into a failed one. */
function safeLog(write: () => void): void {
  try {
    write();
  } catch {
    /* the logger reports its own failures once; see src/log/logger.ts */
  }
}

/** What answerRequest decided: the status and body to send, and the route's label for metrics. */
interface ApiAnswer {
  status: number;
  body: unknown;
  contentType?: string;
  /** For 405: the methods the path allows (the Allow header). */
  allow?: string;
  label: string;
}

/**
 * Routes one request and answers it, refusals included; every input the client controls (target,
 * method, body) is read inside the try. Shared by the HTTP server and the in-process transport
 * (serveInProcess, src/ipam/client.ts) that the hook chain jailnetd runs uses: same checks, same
 * answers, without HTTP between two parts of one process.
 */
async function answerRequest(ctx: DaemonContext, isStopping: () => boolean, methodIn: string | undefined, target: string | undefined, bodyText: () => Promise<string>): Promise<ApiAnswer> {
  let label = 'other';
  let allow: string | undefined;
  try {
    const url = parseTarget(target);
    if (!url) throw new IpamError('invalid-request', `request target ${safeText(target)} is not a path`, `paths: ${Object.keys(ROUTES).join(', ')}`);
    const route = ROUTES[url.pathname];
    if (isStopping()) throw new IpamError('unavailable', 'jailnetd is shutting down', 'retry in a moment');
    if (!route) throw new IpamError('not-found', `no such path ${url.pathname}`, `paths: ${Object.keys(ROUTES).join(', ')}`);
    label = url.pathname;
    const method = methodIn === 'HEAD' ? 'GET' : methodIn;
    const handler = method === 'GET' || method === 'POST' ? route[method] : undefined;
    if (!handler) {
      allow = Object.keys(route).join(', ');
      throw new IpamError('method-not-allowed', `${methodIn} is not allowed on ${url.pathname}`, `use ${Object.keys(route).join(' or ')}`);
    }
    const body = method === 'POST' ? parseJson(await bodyText()) : undefined;
    const reply = await handler(ctx, { body, query: url.searchParams });
    return { status: reply.status ?? 200, body: reply.body, ...(reply.contentType ? { contentType: reply.contentType } : {}), label };
  } catch (thrown) {
    const err = thrown instanceof IpamError ? thrown : new IpamError('internal', `internal error: ${(thrown as Error)?.message ?? String(thrown)}`);
    if (!(thrown instanceof IpamError)) safeLog(() => log.error(`${safeText(methodIn)} ${safeText(target)} failed`, { error: (thrown as Error)?.stack ?? String(thrown) }));
    ctx.metrics.refusal(err.reason);
    return { status: err.status, body: err.toBody(), ...(allow ? { allow } : {}), label };
  }
}

/** The text of an answer's body, as it goes on the wire. */
function answerText(a: Pick<ApiAnswer, 'body' | 'contentType'>): string {
  return typeof a.body === 'string' && a.contentType !== undefined && a.contentType !== 'application/json' ? a.body : `${JSON.stringify(a.body)}\n`;
}

async function handle(ctx: DaemonContext, req: IncomingMessage, res: ServerResponse, isStopping: () => boolean): Promise<void> {
  const started = process.hrtime.bigint();
  let label = 'other';
  let status = 500;
  try {
    const a = await answerRequest(ctx, isStopping, req.method, req.url, () => readBody(req));
    label = a.label;
    status = a.status;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (a.allow) res.setHeader('allow', a.allow);
    send(res, a.status, a.body, a.contentType);
  } finally {
    ctx.metrics.request(label, status, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/** One request from this very process (see answerRequest): the answer's status and text. */
export async function answerInProcess(ctx: DaemonContext, isStopping: () => boolean, method: string, path: string, payload: string | undefined): Promise<{ status: number; text: string }> {
  const started = process.hrtime.bigint();
  let label = 'other';
  let status = 500;
  try {
    const a = await answerRequest(ctx, isStopping, method, path, async () => {
      if (payload !== undefined && Buffer.byteLength(payload) > MAX_BODY_BYTES) throw new IpamError('malformed-body', `request body is larger than ${MAX_BODY_BYTES} bytes`);
      return payload ?? '';
    });
    label = a.label;
    status = a.status;
    return { status: a.status, text: answerText(a) };
  } finally {
    ctx.metrics.request(label, status, Number(process.hrtime.bigint() - started) / 1e9, 'in-process');
  }
}
