/**
 * CNI IPAM plugin `host-local`, served by jailnetd: the reference plugin's configuration
 * (ranges, rangeStart/rangeEnd, gateway, routes, resolvConf, dataDir, the `ips` capability, IP= in
 * CNI_ARGS) and its order of addresses, with jailnetd's leases (durable, collected, reclaimed).
 * The same handlers as jailnet-ipam (src/ipam/plugin.ts); docs/plugins.md says what differs from
 * the reference.
 */
import { pluginMain } from '../src/cni/skel';
import { hostLocalPlugin } from '../src/ipam/definition';

pluginMain(hostLocalPlugin);
