/**
 * CNI plugin `portmap` (chained): publishes runtimeConfig.portMappings of a vnet jail with pf
 * rdr rules in the attachment's own anchor `jailnet/pm-NETWORK-HASH`; host ports are reserved in
 * jailnetd first, so two attachments never publish the same one. See docs/plugins.md; the
 * handlers are in src/portmap/.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

// The chain shares CNI_ARGS: accept the keys its first plugin understands.
pluginMain({ name: 'portmap', knownArgs: LINK_ARGS, load: async () => (await import('../src/portmap/plugin')).handlers });
