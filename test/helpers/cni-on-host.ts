import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import { PLUGIN_DIR, runPlugin, TEST_PLUGIN_DIR, type PluginRun } from './plugin-process';

/** Runs jailnet's CNI plugins against an emulated host, as a CNI runtime would. */

export interface Attachment {
  containerId: string;
  /** CNI_NETNS: the jail (name or JID); '' for a DEL without one. */
  netns: string;
  ifname?: string;
  args?: string;
}

export type CniCommandName = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

export function cniRunner(host: EmulatedHost, extraEnv: Record<string, string> = {}) {
  return (plugin: string, command: CniCommandName, conf: object, att: Attachment = { containerId: '', netns: '' }): Promise<PluginRun> => {
    const env: Record<string, string | undefined> = {
      ...(host.env as Record<string, string>),
      CNI_COMMAND: command,
      CNI_PATH: `${PLUGIN_DIR}:${TEST_PLUGIN_DIR}`,
      JAILNET_LOG_FILE: '/dev/null',
      // Locks of this emulated host, not the machine's /var/run/jailnet.
      JAILNET_RUN_DIR: join(host.dir, 'run'),
      // The emulated host runs every command as a node process on a small CI machine.
      JAILNET_COMMAND_TIMEOUT: '300',
      ...extraEnv,
    };
    if (command !== 'GC' && command !== 'STATUS' && command !== 'VERSION') {
      env.CNI_CONTAINERID = att.containerId;
      env.CNI_NETNS = att.netns;
      env.CNI_IFNAME = att.ifname ?? 'eth0';
      if (att.args) env.CNI_ARGS = att.args;
    }
    return runPlugin(join(PLUGIN_DIR, plugin), env, conf);
  };
}

/** The first IPv4 address (without prefix) of an ADD result. */
export function firstIpv4(result: Record<string, unknown> | undefined): string {
  const ips = (result?.ips ?? []) as { address: string }[];
  const v4 = ips.find((ip) => !ip.address.includes(':'));
  if (!v4) throw new Error(`no IPv4 address in ${JSON.stringify(result)}`);
  return v4.address.split('/')[0] as string;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}
