/**
 * CNI plugin `loopback`: lo0 up in the vnet jail (CNI_NETNS = jail name or JID) with 127.0.0.1/8
 * and ::1, changing only what is missing. See docs/plugins.md; the handlers are in src/loopback/.
 */
import { pluginMain } from '../src/cni/skel';
import { loopbackPlugin } from '../src/loopback/definition';

pluginMain(loopbackPlugin);
