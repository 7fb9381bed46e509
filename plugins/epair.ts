/**
 * CNI plugin `epair`: a point-to-point link between the host and a vnet jail (CNI_NETNS = jail
 * name or JID), no bridge. See docs/plugins.md; the handlers are in src/epair/.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

pluginMain({ name: 'epair', knownArgs: LINK_ARGS, load: async () => (await import('../src/epair/plugin')).handlers });
