import type { PluginHandlers } from '../cni/skel';
import { linkDel } from '../link/del';
import { linkGc } from '../link/gc';
import { bridgeAdd } from './add';
import { bridgeCheck } from './check';
import { loadBridgeConfig, type BridgeConf } from './config';
import { bridgeStatus } from './status';

/** The bridge plugin's handlers (loaded by plugins/bridge.ts after VERSION and the environment checks). */
export const handlers: PluginHandlers<BridgeConf> = {
  parseConfig: loadBridgeConfig,
  add: bridgeAdd,
  del: linkDel,
  check: bridgeCheck,
  gc: linkGc,
  status: bridgeStatus,
};
