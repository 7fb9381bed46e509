import type { PluginDefinition } from '../cni/skel';
import { LINK_ARGS } from '../link/args';
import type { TuningConf } from './plugin';

/**
 * The tuning plugin: run by its executable (plugins/tuning.ts) or in the jailnet process
 * (src/cli/in-process.ts). The chain shares CNI_ARGS: it accepts the keys its first plugin understands.
 */
export const tuningPlugin: PluginDefinition<TuningConf> = { name: 'tuning', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
