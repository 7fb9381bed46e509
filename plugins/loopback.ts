/**
 * CNI plugin `loopback`: lo0 up in the vnet jail (CNI_NETNS = jail name or JID) with 127.0.0.1/8
 * and ::1, changing only what is missing. See docs/plugins.md; the handlers are in src/loopback/.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

// containerd runs loopback with the pod's CNI_ARGS (K8S_POD_*): accept the keys the link plugins accept.
pluginMain({ name: 'loopback', knownArgs: LINK_ARGS, load: async () => (await import('../src/loopback/plugin')).handlers });
