/**
 * CNI plugin `firewall` (chained): the reference plugin's ingressPolicy (open, same-bridge,
 * isolated) as pf rules of the network, loaded by jailnetd into `jailnet/iso-NETWORK`. See
 * docs/plugins.md; the handlers are in src/ingress/.
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

// The chain shares CNI_ARGS: accept the keys its first plugin understands.
pluginMain({ name: 'firewall', knownArgs: LINK_ARGS, load: async () => (await import('../src/ingress/plugin')).handlers });
