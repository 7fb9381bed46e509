import type { PluginDefinition } from '../cni/skel';
import { LINK_ARGS } from '../link/args';
import type { NatConf } from './config';

/**
 * The nat plugin: run by its executable (plugins/nat.ts) or in the jailnet process
 * (src/cli/in-process.ts). The chain shares CNI_ARGS: it accepts the keys its first plugin understands.
 */
export const natPlugin: PluginDefinition<NatConf> = { name: 'nat', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
