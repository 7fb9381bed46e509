/**
 * CNI plugin `nat` (chained): outbound NAT through pf for the jail's IPv4 addresses in
 * prevResult, the same anchor and table as bridge's ipMasq. See docs/plugins.md.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/config';
import { natAdd, natCheck, natDel, natStatus } from '../src/nat/commands';
import { loadNatConfig, type NatConf } from '../src/nat/config';

pluginMain<NatConf>({
  name: 'nat',
  // The chain shares CNI_ARGS: accept the keys its first plugin understands.
  knownArgs: LINK_ARGS,
  parseConfig: loadNatConfig,
  add: natAdd,
  del: natDel,
  check: natCheck,
  // GC: nothing per attachment. The table holds addresses, not attachments; DEL takes them out.
  gc: async () => {},
  status: natStatus,
});
