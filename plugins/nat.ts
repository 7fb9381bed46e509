/**
 * CNI plugin `nat` (chained): outbound NAT through pf for the jail's IPv4 addresses in
 * prevResult, the same anchor and table as bridge's ipMasq. See docs/plugins.md; the handlers
 * are in src/nat/.
 */
import { pluginMain } from '../src/cni/skel';
import { natPlugin } from '../src/nat/definition';

pluginMain(natPlugin);
