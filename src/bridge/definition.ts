import type { PluginDefinition } from '../cni/skel';
import { LINK_ARGS } from '../link/args';
import type { BridgeConf } from './config';

/** The bridge plugin: run by its executable (plugins/bridge.ts) or in the jailnet process (src/cli/in-process.ts). */
export const bridgePlugin: PluginDefinition<BridgeConf> = { name: 'bridge', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
