import { CniError, runAll } from '../errors';
import { resultToVersion } from '../result';
import type { Attachment, Result } from '../types';
import { atLeast } from '../version';
import { deleteCache, readCache, writeCache } from './cache';
import type { NetworkConfigList, PluginConf } from './conflist';
import type { InProcessPlugins } from './in-process';
import { invokePlugin, PLUGIN_TIMEOUT_MS, type InvokeArgs } from './invoke';

/**
 * Running a network configuration list the way libcni does: the list's name and cniVersion and
 * the plugin's capabilities from the runtime injected into each plugin's configuration, ADD in
 * order with each result the next plugin's prevResult, DEL in reverse order, CHECK in order, the
 * final result cached and given back as prevResult to DEL and CHECK.
 */

export interface RuntimeConf {
  containerId: string;
  /** CNI_NETNS: the jail's name. */
  netns: string;
  ifname: string;
  args?: [string, string][];
  /** Capability arguments (portMappings, ips, mac, ...), given to plugins that declare them. */
  capabilityArgs?: Record<string, unknown>;
}

export interface RuntimeEnv {
  cniPath: string[];
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Plugins run in this process rather than as executables (src/cli/in-process.ts). */
  inProcess?: InProcessPlugins;
  /** They log through this process's logging as it is (jailnetd). */
  keepLogging?: boolean;
}

/** One plugin's stdin (libcni buildOneConfig). */
export function pluginConfig(list: NetworkConfigList, plugin: PluginConf, rt: RuntimeConf, prevResult?: Result): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, wanted] of Object.entries(plugin.capabilities ?? {})) {
    if (wanted && rt.capabilityArgs && capability in rt.capabilityArgs) runtimeConfig[capability] = rt.capabilityArgs[capability];
  }
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prevResult) conf.prevResult = resultToVersion(prevResult, list.cniVersion);
  return conf;
}

function invokeArgs(command: InvokeArgs['command'], rt: RuntimeConf, env: RuntimeEnv): InvokeArgs {
  const a: InvokeArgs = { command, containerId: rt.containerId, netns: rt.netns, ifname: rt.ifname, args: rt.args ?? [], cniPath: env.cniPath, env: env.env, timeoutMs: env.timeoutMs ?? PLUGIN_TIMEOUT_MS };
  if (env.inProcess) a.inProcess = env.inProcess;
  if (env.keepLogging) a.keepLogging = true;
  return a;
}

export async function addNetworkList(list: NetworkConfigList, rt: RuntimeConf, env: RuntimeEnv): Promise<Result> {
  let result: Result | undefined;
  for (const plugin of list.plugins) {
    result = await invokePlugin(plugin.type, pluginConfig(list, plugin, rt, result), invokeArgs('ADD', rt, env), list.cniVersion);
  }
  const final = result ?? { cniVersion: list.cniVersion };
  writeCache(env.cacheDir, {
    kind: 'cniCacheV1',
    containerId: rt.containerId,
    config: list.bytes.toString('base64'),
    ifName: rt.ifname,
    networkName: list.name,
    netns: rt.netns,
    cniArgs: rt.args ?? [],
    capabilityArgs: rt.capabilityArgs ?? {},
    result: resultToVersion(final, list.cniVersion) as Result,
  });
  return final;
}

/** DEL in reverse order with the cached result as prevResult, then forget the cache entry. */
export async function delNetworkList(list: NetworkConfigList, rt: RuntimeConf, env: RuntimeEnv, prevResult?: Result): Promise<void> {
  const prev = prevResult ?? readCache(env.cacheDir, list.name, rt.containerId, rt.ifname)?.result;
  for (const plugin of [...list.plugins].reverse()) {
    await invokePlugin(plugin.type, pluginConfig(list, plugin, rt, prev), invokeArgs('DEL', rt, env), list.cniVersion);
  }
  deleteCache(env.cacheDir, list.name, rt.containerId, rt.ifname);
}

export async function checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, env: RuntimeEnv): Promise<void> {
  if (list.disableCheck) return;
  const cached = readCache(env.cacheDir, list.name, rt.containerId, rt.ifname);
  if (!cached?.result) throw new CniError(3, `no cached result for ${rt.containerId}/${rt.ifname} on network ${list.name}: it is not attached`);
  for (const plugin of list.plugins) {
    await invokePlugin(plugin.type, pluginConfig(list, plugin, rt, cached.result), invokeArgs('CHECK', rt, env), list.cniVersion);
  }
}

/** GC (cniVersion 1.1.0): every plugin learns which attachments of the network are still valid. */
export async function gcNetworkList(list: NetworkConfigList, valid: Attachment[], env: RuntimeEnv): Promise<void> {
  if (list.disableGC || !atLeast(list.cniVersion, '1.1.0')) return;
  const rt: RuntimeConf = { containerId: '', netns: '', ifname: '' };
  // Every plugin runs even when one fails; the failures are reported together.
  await runAll(
    list.plugins.map((plugin) => () => invokePlugin(plugin.type, { ...pluginConfig(list, plugin, rt), 'cni.dev/valid-attachments': valid }, invokeArgs('GC', rt, env), list.cniVersion)),
  );
}

/** STATUS (cniVersion 1.1.0): the first plugin that cannot serve ADD answers. */
export async function statusNetworkList(list: NetworkConfigList, env: RuntimeEnv): Promise<void> {
  if (!atLeast(list.cniVersion, '1.1.0')) return;
  const rt: RuntimeConf = { containerId: '', netns: '', ifname: '' };
  for (const plugin of list.plugins) await invokePlugin(plugin.type, pluginConfig(list, plugin, rt), invokeArgs('STATUS', rt, env), list.cniVersion);
}
