import type { PluginDefinition } from '../cni/skel';
import type { NetConf } from '../cni/types';
import { LINK_ARGS } from '../link/args';

/**
 * The loopback plugin: run by its executable (plugins/loopback.ts) or in the jailnet process
 * (src/cli/in-process.ts). containerd runs loopback with the pod's CNI_ARGS (K8S_POD_*): it
 * accepts the keys the link plugins accept.
 */
export const loopbackPlugin: PluginDefinition<NetConf> = { name: 'loopback', knownArgs: LINK_ARGS, load: async () => (await import('./plugin')).handlers };
