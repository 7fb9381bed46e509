/**
 * CNI plugin `tuning` (chained): mtu, mac, promisc and per-vnet sysctls of the jail's interface,
 * restored by DEL; the reference's other fields are logged and ignored. See docs/plugins.md; the
 * handlers are in src/tuning/.
 */
import { pluginMain } from '../src/cni/skel';
import { tuningPlugin } from '../src/tuning/definition';

pluginMain(tuningPlugin);
