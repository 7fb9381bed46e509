/**
 * CNI plugin `bridge`: attaches a vnet jail (CNI_NETNS = jail name or JID) to a host bridge with
 * an epair. See docs/plugins.md.
 */
import { bridgeAdd } from '../src/bridge/add';
import { bridgeCheck } from '../src/bridge/check';
import { loadBridgeConfig, type BridgeConf } from '../src/bridge/config';
import { bridgeStatus } from '../src/bridge/status';
import { pluginMain } from '../src/cni/skel';
import { LINK_ARGS } from '../src/link/config';
import { linkDel } from '../src/link/del';
import { linkGc } from '../src/link/gc';

pluginMain<BridgeConf>({
  name: 'bridge',
  knownArgs: LINK_ARGS,
  parseConfig: loadBridgeConfig,
  add: bridgeAdd,
  del: linkDel,
  check: bridgeCheck,
  gc: linkGc,
  status: bridgeStatus,
});
