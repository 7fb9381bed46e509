import type { PluginDefinition } from '../cni/skel';
import { LINK_ARGS } from '../link/args';
import type { PortmapConf } from './config';

/**
 * The portmap plugin: run by its executable (plugins/portmap.ts) or in the jailnet process
 * (src/cli/in-process.ts). The chain shares CNI_ARGS: it accepts the keys its first plugin understands.
 */
export const portmapPlugin: PluginDefinition<PortmapConf> = { name: 'portmap', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
