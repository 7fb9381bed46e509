import { findExecutable, runPluginExecutable } from '../freebsd/plugin-exec';
import type { CniCommand } from './env';
import { CniCode, CniError } from './errors';
import { parseResultIn } from './parse-result';
import type { CmdContext } from './skel';
import type { NetConf, Result } from './types';

/**
 * Delegation to an IPAM plugin (SPEC.md "Delegated plugins"): the plugin named by ipam.type is
 * found in CNI_PATH and run with the same environment and the same stdin, CNI_COMMAND changed.
 */

export const DELEGATE_TIMEOUT_MS = 120_000;
const TYPE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function ipamType<C extends NetConf>(ctx: CmdContext<C>): string {
  const type = ctx.config.ipam?.type;
  if (typeof type !== 'string' || type === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, 'field "ipam.type" is required', 'name the IPAM plugin, e.g. "ipam": {"type": "jailnet-ipam", ...}');
  }
  return type;
}

/** The IPAM plugin's executable: its name checked and found in CNI_PATH (no process is started). */
export function ipamPluginPath<C extends NetConf>(ctx: CmdContext<C>, type = ipamType(ctx)): string {
  if (!TYPE.test(type)) {
    throw new CniError(CniCode.InvalidNetworkConfig, `field "ipam.type" has invalid plugin name ${JSON.stringify(type)}`, 'a plugin name is a file name: letters, digits, "_", "." and "-"');
  }
  if (ctx.cniPath.length === 0) {
    throw new CniError(CniCode.InvalidEnvironment, `required environment variable CNI_PATH is missing; it is needed to find the IPAM plugin "${type}"`, 'set CNI_PATH to the directories holding the CNI plugins');
  }
  const path = findExecutable(type, ctx.cniPath);
  if (!path) {
    throw new CniError(CniCode.InvalidNetworkConfig, `IPAM plugin "${type}" not found in CNI_PATH (${ctx.cniPath.join(':')})`, `install ${type} into one of those directories or fix "ipam.type"`);
  }
  return path;
}

async function delegate<C extends NetConf>(command: CniCommand, type: string, ctx: CmdContext<C>): Promise<string> {
  const path = ipamPluginPath(ctx, type);
  const run = await runPluginExecutable(path, { ...ctx.env, CNI_COMMAND: command }, ctx.stdinData, DELEGATE_TIMEOUT_MS);
  if (run.exitCode !== 0) throw delegatedError(type, command, run.stdout, run.stderr, run.exitCode);
  return run.stdout;
}

function delegatedError(type: string, command: string, stdout: string, stderr: string, exitCode: number): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.code === 'number' && typeof e.msg === 'string') {
      return new CniError(e.code, `IPAM plugin ${type} ${command}: ${e.msg}`, typeof e.details === 'string' ? e.details : '');
    }
  } catch {
    /* not an error document; reported below */
  }
  return new CniError(CniCode.Internal, `IPAM plugin ${type} ${command} exited with status ${exitCode} without a CNI error`, (stderr || stdout).trim().slice(0, 2000));
}

/** ADD through the IPAM plugin: its result in the 1.x shape. */
export async function ipamAdd<C extends NetConf>(ctx: CmdContext<C>): Promise<Result> {
  const type = ipamType(ctx);
  const out = await delegate('ADD', type, ctx);
  let raw: unknown;
  try {
    raw = JSON.parse(out);
  } catch {
    throw new CniError(CniCode.DecodingFailure, `IPAM plugin ${type} ADD printed something that is not JSON`, out.slice(0, 500));
  }
  return parseResultIn(raw, ctx.cniVersion, `result of IPAM plugin ${type}`);
}

export async function ipamDel<C extends NetConf>(ctx: CmdContext<C>): Promise<void> {
  await delegate('DEL', ipamType(ctx), ctx);
}

export async function ipamCheck<C extends NetConf>(ctx: CmdContext<C>): Promise<void> {
  await delegate('CHECK', ipamType(ctx), ctx);
}

export async function ipamGc<C extends NetConf>(ctx: CmdContext<C>): Promise<void> {
  await delegate('GC', ipamType(ctx), ctx);
}

export async function ipamStatus<C extends NetConf>(ctx: CmdContext<C>): Promise<void> {
  await delegate('STATUS', ipamType(ctx), ctx);
}
