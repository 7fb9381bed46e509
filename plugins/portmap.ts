/**
 * CNI plugin `portmap` (chained): publishes runtimeConfig.portMappings of a vnet jail with pf
 * rdr rules in the attachment's own anchor `jailnet/pm-NETWORK-HASH`; host ports are reserved in
 * jailnetd first, so two attachments never publish the same one. See docs/plugins.md; the
 * handlers are in src/portmap/.
 */
import { pluginMain } from '../src/cni/skel';
import { portmapPlugin } from '../src/portmap/definition';

pluginMain(portmapPlugin);
