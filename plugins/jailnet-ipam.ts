/**
 * CNI IPAM plugin `jailnet-ipam`: addresses from jailnetd's pools (docs/ipam.md). Takes
 * host-local's configuration; each command is one request to the daemon, which is started
 * when it is not running (unless "autostart": false).
 */
import { pluginMain } from '../src/cni/skel';
import { jailnetIpamPlugin } from '../src/ipam/definition';

pluginMain(jailnetIpamPlugin);
