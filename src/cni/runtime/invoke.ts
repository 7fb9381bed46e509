import { findExecutable, isJailnetPlugin, runPluginExecutable, type PluginRun } from '../../freebsd/plugin-exec';
import { currentLogSettings } from '../../log/logger';
import type { CniCommand } from '../env';
import { CniCode, CniError } from '../errors';
import { parseResultIn } from '../parse-result';
import type { Result } from '../types';
import { runInProcess, type InProcessPlugins } from './in-process';

/**
 * Runs one plugin of a chain the way libcni's invoke package does: found in CNI_PATH, the CNI_*
 * environment set, the plugin's configuration on stdin; its result parsed in the list's version,
 * its error JSON turned back into a CniError that names the plugin. A jailnet plugin (the file
 * found in CNI_PATH is one of jailnet's executables, and `inProcess` has its type) is run in
 * this process through the same dispatcher its executable runs: no process is started.
 */

export interface InvokeArgs {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs. */
  args: [string, string][];
  cniPath: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Plugins to run in this process (src/cli/in-process.ts); none when absent. */
  inProcess?: InProcessPlugins;
  /** In-process plugins log through this process's logging as it is (runInProcess). */
  keepLogging?: boolean;
}

export const PLUGIN_TIMEOUT_MS = 300_000;

export async function invokePlugin(type: string, config: object, a: InvokeArgs, cniVersion: string): Promise<Result | undefined> {
  const path = findExecutable(type, a.cniPath);
  if (!path) throw new CniError(CniCode.InvalidNetworkConfig, `plugin "${type}" not found in CNI_PATH (${a.cniPath.join(':')})`, `install the plugin or fix the "type" in the network file`);
  const env: NodeJS.ProcessEnv = {
    ...a.env,
    CNI_COMMAND: a.command,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    CNI_ARGS: a.args.map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: a.cniPath.join(':'),
  };
  const own = a.inProcess?.get(type);
  const run: PluginRun =
    own && isJailnetPlugin(path)
      ? await runInProcess(own, env, JSON.stringify(config), a.keepLogging ? 'keep' : currentLogSettings())
      : await runPluginExecutable(path, env, JSON.stringify(config), a.timeoutMs);
  if (run.exitCode !== 0) {
    let e: { code?: unknown; msg?: unknown; details?: unknown } = {};
    try {
      e = JSON.parse(run.stdout) as typeof e;
    } catch {
      /* not error JSON */
    }
    if (typeof e.code === 'number' && typeof e.msg === 'string') {
      throw new CniError(e.code, `${type}: ${e.msg}`, typeof e.details === 'string' ? e.details : '');
    }
    throw new CniError(CniCode.Internal, `${type} ${a.command} exited with status ${run.exitCode} without a CNI error`, (run.stderr || run.stdout).trim().slice(0, 2000));
  }
  if (a.command !== 'ADD') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(run.stdout);
  } catch {
    throw new CniError(CniCode.DecodingFailure, `${type} ADD printed something that is not JSON`, run.stdout.slice(0, 500));
  }
  return parseResultIn(raw, cniVersion, `result of ${type}`);
}
