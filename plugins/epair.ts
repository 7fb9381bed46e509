/**
 * CNI plugin `epair`: a point-to-point link between the host and a vnet jail (CNI_NETNS = jail
 * name or JID), no bridge. See docs/plugins.md; the handlers are in src/epair/.
 */
import { pluginMain } from '../src/cni/skel';
import { epairPlugin } from '../src/epair/definition';

pluginMain(epairPlugin);
