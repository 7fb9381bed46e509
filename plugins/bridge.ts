/**
 * CNI plugin `bridge`: attaches a vnet jail (CNI_NETNS = jail name or JID) to a host bridge with
 * an epair. See docs/plugins.md; the handlers are in src/bridge/.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

pluginMain({ name: 'bridge', knownArgs: LINK_ARGS, load: async () => (await import('../src/bridge/plugin')).handlers });
