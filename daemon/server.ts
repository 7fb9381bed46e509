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
  const text = typeof body === 'string' && contentType !== 'application/json' ? body : `${JSON.stringify(body)}\n`;
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

/** Answers one request; every input the client controls (target, method, headers, body) is read inside the try. */
async function handle(ctx: DaemonContext, req: IncomingMessage, res: ServerResponse, isStopping: () => boolean): Promise<void> {
  const started = process.hrtime.bigint();
  let label = 'other';
  let status = 500;
  try {
    const url = parseTarget(req.url);
    if (!url) throw new IpamError('invalid-request', `request target ${safeText(req.url)} is not a path`, `paths: ${Object.keys(ROUTES).join(', ')}`);
    const route = ROUTES[url.pathname];
    if (isStopping()) throw new IpamError('unavailable', 'jailnetd is shutting down', 'retry in a moment');
    if (!route) throw new IpamError('not-found', `no such path ${url.pathname}`, `paths: ${Object.keys(ROUTES).join(', ')}`);
    label = url.pathname;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const handler = method === 'GET' || method === 'POST' ? route[method] : undefined;
    if (!handler) {
      res.setHeader('allow', Object.keys(route).join(', '));
      throw new IpamError('method-not-allowed', `${req.method} is not allowed on ${url.pathname}`, `use ${Object.keys(route).join(' or ')}`);
    }
    const body = method === 'POST' ? parseJson(await readBody(req)) : undefined;
    const reply = await handler(ctx, { body, query: url.searchParams });
    status = reply.status ?? 200;
    send(res, status, reply.body, reply.contentType);
  } catch (thrown) {
    const err = thrown instanceof IpamError ? thrown : new IpamError('internal', `internal error: ${(thrown as Error)?.message ?? String(thrown)}`);
    if (!(thrown instanceof IpamError)) safeLog(() => log.error(`${safeText(req.method)} ${safeText(req.url)} failed`, { error: (thrown as Error)?.stack ?? String(thrown) }));
    status = err.status;
    ctx.metrics.refusal(err.reason);
    if (!res.headersSent) send(res, status, err.toBody());
    else res.destroy();
  } finally {
    ctx.metrics.request(label, status, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
