import { bridgePlugin } from '../bridge/definition';
import type { InProcessPlugin, InProcessPlugins } from '../cni/runtime/in-process';
import { epairPlugin } from '../epair/definition';
import { firewallPlugin } from '../ingress/definition';
import { hostLocalPlugin, jailnetIpamPlugin } from '../ipam/definition';
import { loopbackPlugin } from '../loopback/definition';
import { natPlugin } from '../nat/definition';
import { portmapPlugin } from '../portmap/definition';
import { tuningPlugin } from '../tuning/definition';

/**
 * The plugins `jailnet` runs in its own process when CNI_PATH holds jailnet's executable of
 * that type: CNI type -> definition. Each definition loads its handlers on first use (esbuild
 * keeps them in the jailnet bundle, initialised on demand), so a command that runs no chain
 * pays only for parsing them. A new plugin type joins by adding its definition here.
 */
export const IN_PROCESS_PLUGINS: InProcessPlugins = new Map<string, InProcessPlugin>([
  [bridgePlugin.name, bridgePlugin],
  [epairPlugin.name, epairPlugin],
  [natPlugin.name, natPlugin],
  [portmapPlugin.name, portmapPlugin],
  [jailnetIpamPlugin.name, jailnetIpamPlugin],
  [hostLocalPlugin.name, hostLocalPlugin],
  [firewallPlugin.name, firewallPlugin],
  [tuningPlugin.name, tuningPlugin],
  [loopbackPlugin.name, loopbackPlugin],
]);
