/**
 * CNI plugin `firewall` (chained): the reference plugin's ingressPolicy (open, same-bridge,
 * isolated) as pf rules of the network, loaded by jailnetd into `jailnet/iso-NETWORK`. See
 * docs/plugins.md; the handlers are in src/ingress/.
 */
import { pluginMain } from '../src/cni/skel';
import { firewallPlugin } from '../src/ingress/definition';

pluginMain(firewallPlugin);
