/**
 * CNI plugin `nat` (chained): outbound NAT through pf for the jail's IPv4 addresses in
 * prevResult, the same anchor and table as bridge's ipMasq. See docs/plugins.md; the handlers
 * are in src/nat/.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

// The chain shares CNI_ARGS: accept the keys its first plugin understands.
pluginMain({ name: 'nat', knownArgs: LINK_ARGS, load: async () => (await import('../src/nat/plugin')).handlers });
