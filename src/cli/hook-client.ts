import { request } from 'node:http';
import { CniCode, CniError } from '../cni/errors';

/**
 * `jailnet hook ...` as a thin client of jailnetd (docs/architecture.md, "One process per hook"):
 * the hook's arguments, OCI state and environment go to POST /v1/hook, and jailnetd runs the
 * chain with its plugin code loaded and compiled once, where this process would compile it at
 * every call. When nothing answers on the socket (jailnetd not running, or one without
 * /v1/hook), the caller runs the hook itself, as it did before: same code, same result.
 */

export type HookAnswer = 'done' | 'not-served';

const NOT_SERVED = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EACCES']);

export function hookViaDaemon(socket: string, args: readonly string[], state: string, env: NodeJS.ProcessEnv): Promise<HookAnswer> {
  const payload = JSON.stringify({ args, state, env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string')) });
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: '/v1/hook', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        if (res.statusCode === 200) return resolve('done');
        if (res.statusCode === 404 || res.statusCode === 405) return resolve('not-served');
        let body: { cniError?: { code?: unknown; msg?: unknown; details?: unknown }; error?: { message?: unknown; details?: unknown } } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          /* reported below */
        }
        const e = body.cniError;
        if (res.statusCode === 422 && e && typeof e.code === 'number' && typeof e.msg === 'string') return reject(new CniError(e.code, e.msg, typeof e.details === 'string' ? e.details : ''));
        const message = typeof body.error?.message === 'string' ? body.error.message : text.slice(0, 500);
        reject(new CniError(CniCode.IpamFailure, `jailnetd (${socket}) refused the hook with status ${res.statusCode ?? '?'}: ${message}`, typeof body.error?.details === 'string' ? body.error.details : ''));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code && NOT_SERVED.has(err.code) ? resolve('not-served') : reject(err)));
    req.end(payload);
  });
}
