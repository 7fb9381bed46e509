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

export function createApiServer(ctx: DaemonContext, isStopping: () => boolean): Server {
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 60_000 }, (req, res) => {
    void handle(ctx, req, res, isStopping);
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    log.debug(`bad HTTP from a client: ${err.message}`);
  });
  return server;
}

async function handle(ctx: DaemonContext, req: IncomingMessage, res: ServerResponse, isStopping: () => boolean): Promise<void> {
  const started = process.hrtime.bigint();
  const url = new URL(req.url ?? '/', 'http://jailnetd');
  const route = ROUTES[url.pathname];
  let status = 500;
  try {
    if (isStopping()) throw new IpamError('unavailable', 'jailnetd is shutting down', 'retry in a moment');
    if (!route) throw new IpamError('not-found', `no such path ${url.pathname}`, `paths: ${Object.keys(ROUTES).join(', ')}`);
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
    if (!(thrown instanceof IpamError)) log.error(`${req.method} ${url.pathname} failed`, { error: (thrown as Error)?.stack ?? String(thrown) });
    status = err.status;
    ctx.metrics.refusal(err.reason);
    if (!res.headersSent) send(res, status, err.toBody());
    else res.destroy();
  } finally {
    ctx.metrics.request(route ? url.pathname : 'other', status, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
