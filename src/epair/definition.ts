import type { PluginDefinition } from '../cni/skel';
import { LINK_ARGS } from '../link/args';
import type { EpairConf } from './config';

/** The epair plugin: run by its executable (plugins/epair.ts) or in the jailnet process (src/cli/in-process.ts). */
export const epairPlugin: PluginDefinition<EpairConf> = { name: 'epair', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
