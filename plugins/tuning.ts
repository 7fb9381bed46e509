/**
 * CNI plugin `tuning` (chained): mtu, mac, promisc and per-vnet sysctls of the jail's interface,
 * restored by DEL; the reference's other fields are logged and ignored. See docs/plugins.md; the
 * handlers are in src/tuning/.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

// The chain shares CNI_ARGS: accept the keys its first plugin understands.
pluginMain({ name: 'tuning', knownArgs: LINK_ARGS, load: async () => (await import('../src/tuning/plugin')).handlers });
