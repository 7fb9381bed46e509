import type { PluginHandlers } from '../cni/skel';
import { natAdd, natCheck, natDel, natGc, natStatus } from './commands';
import { loadNatConfig, type NatConf } from './config';

/** The nat plugin's handlers (loaded by plugins/nat.ts after VERSION and the environment checks). */
export const handlers: PluginHandlers<NatConf> = {
  parseConfig: loadNatConfig,
  add: natAdd,
  del: natDel,
  check: natCheck,
  gc: natGc,
  status: natStatus,
};
