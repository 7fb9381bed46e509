/**
 * CNI plugin `bridge`: attaches a vnet jail (CNI_NETNS = jail name or JID) to a host bridge with
 * an epair. See docs/plugins.md; the handlers are in src/bridge/.
 */
import { pluginMain } from '../src/cni/skel';
import { bridgePlugin } from '../src/bridge/definition';

pluginMain(bridgePlugin);
