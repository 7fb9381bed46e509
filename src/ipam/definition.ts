import type { PluginDefinition } from '../cni/skel';
import { LINK_ARGS } from '../link/args';
import type { IpamPluginConfig } from './plugin-config';

/**
 * The jailnet-ipam plugin: run by its executable (plugins/jailnet-ipam.ts) or in the jailnet
 * process (src/cli/in-process.ts). Delegated with the main plugin's environment, it accepts the
 * CNI_ARGS keys the main plugin accepts (and reads only IP).
 */
export const jailnetIpamPlugin: PluginDefinition<IpamPluginConfig> = { name: 'jailnet-ipam', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };

/** host-local, the reference IPAM plugin's configuration served by jailnetd (the same code as jailnet-ipam). */
export const hostLocalPlugin: PluginDefinition<IpamPluginConfig> = { name: 'host-local', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
