import type * as Net from 'node:net';
import { CniCode, CniError } from '../cni/errors';

/**
 * `jailnet hook ...` as a thin client of jailnetd (docs/architecture.md, "One process per hook"):
 * the hook's arguments, OCI state and environment go to POST /v1/hook, and jailnetd runs the
 * chain with its plugin code loaded and compiled once, where this process would compile it at
 * every call. When nothing answers on the socket (jailnetd not running, or one without
 * /v1/hook), the caller runs the hook itself, as it did before: same code, same result.
 *
 * One request on one connection, written and read here with node:net rather than node:http:
 * a runj hook starts a Node process for this request alone, and loading node:http cost that
 * start about a fifth of a bare Node start (docs/performance.md). The request is plain
 * HTTP/1.1 with `connection: close`; the answer is read to the end of the connection and parsed
 * by parseHttpAnswer (a content-length body, or a chunked one).
 */

export type HookAnswer = 'done' | 'not-served';

const NOT_SERVED = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EACCES']);
/** jailnetd's answers to /v1/hook are a few hundred bytes; anything past this is not jailnetd. */
const MAX_ANSWER = 1024 * 1024;

export interface HttpAnswer {
  status: number;
  body: string;
}

/** Status and body of a whole HTTP/1.1 answer (the bytes up to the end of the connection). */
export function parseHttpAnswer(raw: Buffer): HttpAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('the answer ended before its headers did');
  const [statusLine = '', ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!status) throw new Error(`the answer's status line is not HTTP/1.1: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) body = dechunk(body);
  else if (headers.has('content-length')) {
    const length = Number(headers.get('content-length'));
    if (!Number.isSafeInteger(length) || length < 0 || length > body.length) throw new Error(`the answer's body is shorter than its content-length (${headers.get('content-length')})`);
    body = body.subarray(0, length);
  }
  return { status: Number(status[1]), body: body.toString('utf8') };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) throw new Error('a chunk of the answer is cut short');
    const size = parseInt(data.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isSafeInteger(size) || size < 0 || eol + 2 + size > data.length) throw new Error('a chunk of the answer is cut short or malformed');
    if (size === 0) return Buffer.concat(parts);
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** What jailnetd's answer means for the hook: done, not served here, or the error to report. */
export function hookOutcome(answer: HttpAnswer, socket: string): HookAnswer | CniError {
  if (answer.status === 200) return 'done';
  if (answer.status === 404 || answer.status === 405) return 'not-served';
  let body: { cniError?: { code?: unknown; msg?: unknown; details?: unknown }; error?: { message?: unknown; details?: unknown } } = {};
  try {
    body = JSON.parse(answer.body) as typeof body;
  } catch {
    /* reported below */
  }
  const e = body.cniError;
  if (answer.status === 422 && e && typeof e.code === 'number' && typeof e.msg === 'string') return new CniError(e.code, e.msg, typeof e.details === 'string' ? e.details : '');
  const message = typeof body.error?.message === 'string' ? body.error.message : answer.body.slice(0, 500);
  return new CniError(CniCode.IpamFailure, `jailnetd (${socket}) refused the hook with status ${answer.status}: ${message}`, typeof body.error?.details === 'string' ? body.error.details : '');
}

export function hookViaDaemon(socket: string, args: readonly string[], state: string, env: NodeJS.ProcessEnv): Promise<HookAnswer> {
  const payload = Buffer.from(JSON.stringify({ args, state, env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string')) }));
  const head = `POST /v1/hook HTTP/1.1\r\nhost: jailnetd\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    // Loaded here, not at the top: the other jailnet commands share this module's executable.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { connect } = require('node:net') as typeof Net;
    const conn = connect(socket, () => {
      connected = true;
      // write, not end: jailnetd's HTTP server drops a connection whose client half-closed it
      // before the answer; `connection: close` makes it close the connection once answered.
      conn.write(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
    });
    conn.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_ANSWER) {
        conn.destroy();
        reject(new CniError(CniCode.IpamFailure, `jailnetd (${socket}) answered the hook with more than ${MAX_ANSWER} bytes`, 'is it jailnetd that listens on this socket?'));
        return;
      }
      chunks.push(d);
    });
    conn.on('end', () => {
      let answer: HttpAnswer;
      try {
        answer = parseHttpAnswer(Buffer.concat(chunks));
      } catch (err) {
        reject(new CniError(CniCode.IpamFailure, `jailnetd (${socket}) answered the hook with something that is not HTTP: ${(err as Error).message}`, 'is it jailnetd that listens on this socket? `jailnet doctor` checks it'));
        return;
      }
      const outcome = hookOutcome(answer, socket);
      if (outcome instanceof CniError) reject(outcome);
      else resolve(outcome);
    });
    conn.on('error', (err: NodeJS.ErrnoException) => {
      // Not served only when nothing took the request: an error after the connection was made
      // (jailnetd stopped mid-request) must not run the hook a second time here.
      if (!connected && err.code && NOT_SERVED.has(err.code)) resolve('not-served');
      else reject(err);
    });
  });
}
