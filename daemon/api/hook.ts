import { runHookWith } from '../../src/cli/hook';
import { CniError } from '../../src/cni/errors';
import { IpamError } from '../../src/ipam/errors';
import type { Handler } from '../context';

/**
 * POST /v1/hook: a runj hook call (`jailnet hook create-runtime|poststop ...`), run here for
 * `jailnet hook`, which is then a thin client (src/cli/hook-client.ts, docs/architecture.md
 * "One process per hook"): the same code as in the jailnet process, with the hook's arguments,
 * OCI state and environment. Body {"args": [...], "state": "...", "env": {...}}; answers 200 {}
 * when the hook succeeded and 422 {"cniError": {code, msg, details}} when it failed, the error
 * jailnet prints.
 */

const MAX_ARGS = 256;
const MAX_WORD = 4096;
const MAX_ENV = 1024;

interface HookBody {
  args: string[];
  state: string;
  env: Record<string, string>;
}

function hookBody(body: unknown): HookBody {
  const refuse = (field: string, rule: string): never => {
    throw new IpamError('invalid-request', `hook: field "${field}" ${rule}`, 'send {"args": [strings], "state": "OCI state JSON", "env": {name: value}}', { field });
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse('', 'must be an object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'args' && k !== 'state' && k !== 'env') refuse(k, 'is not a field of a hook request');
  if (!Array.isArray(b.args) || b.args.length > MAX_ARGS || !b.args.every((a) => typeof a === 'string' && a.length <= MAX_WORD)) refuse('args', `must be an array of at most ${MAX_ARGS} strings of at most ${MAX_WORD} characters`);
  if (typeof b.state !== 'string') refuse('state', 'must be a string (the OCI state)');
  const env = b.env;
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return refuse('env', 'must be an object of strings');
  const entries = Object.entries(env as Record<string, unknown>);
  if (entries.length > MAX_ENV || !entries.every(([k, v]) => typeof v === 'string' && k.length <= MAX_WORD && !k.includes('=') && !k.includes('\0') && !v.includes('\0'))) refuse('env', `must be an object of at most ${MAX_ENV} names and string values`);
  return { args: b.args as string[], state: b.state as string, env: Object.fromEntries(entries) as Record<string, string> };
}

export const hook: Handler = async (_ctx, req) => {
  const body = hookBody(req.body);
  try {
    // Chains of several clients run at once here: their plugins log through jailnetd's logging.
    await runHookWith(body.args, body.state, { env: body.env, keepLogging: true });
    return { body: {} };
  } catch (err) {
    const e = CniError.from(err);
    return { status: 422, body: { cniError: { code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) } } };
  }
};
