/**
 * CNI IPAM plugin `jailnet-ipam`: addresses from jailnetd's pools (docs/ipam.md). Takes
 * host-local's configuration; each command is one request to the daemon, which is started
 * when it is not running (unless "autostart": false).
 */
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/args';

// Delegated with the main plugin's environment: accept the CNI_ARGS keys it accepts (reads only IP).
pluginMain({ name: 'jailnet-ipam', knownArgs: LINK_ARGS, load: async () => (await import('../src/ipam/plugin')).handlers });
