/**
 * CNI plugin `portmap` (chained): publishes runtimeConfig.portMappings of a vnet jail with pf
 * rdr rules in the attachment's own anchor `jailnet/pm-NETWORK-HASH`; host ports are reserved in
 * jailnetd first, so two attachments never publish the same one. See docs/plugins.md.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/config';
import { portmapAdd } from '../src/portmap/add';
import { portmapCheck } from '../src/portmap/check';
import { loadPortmapConfig, type PortmapConf } from '../src/portmap/config';
import { portmapDel } from '../src/portmap/del';
import { portmapGc } from '../src/portmap/gc';
import { portmapStatus } from '../src/portmap/status';

pluginMain<PortmapConf>({
  name: 'portmap',
  // The chain shares CNI_ARGS: accept the keys its first plugin understands.
  knownArgs: LINK_ARGS,
  parseConfig: loadPortmapConfig,
  add: portmapAdd,
  del: portmapDel,
  check: portmapCheck,
  gc: portmapGc,
  status: portmapStatus,
});
