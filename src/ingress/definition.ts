import type { PluginDefinition } from '../cni/skel';
import { LINK_ARGS } from '../link/args';
import type { FirewallConf } from './plugin';

/**
 * The firewall plugin: run by its executable (plugins/firewall.ts) or in the jailnet process
 * (src/cli/in-process.ts). The chain shares CNI_ARGS: it accepts the keys its first plugin understands.
 */
export const firewallPlugin: PluginDefinition<FirewallConf> = { name: 'firewall', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
