import type { PluginHandlers } from '../cni/skel';
import { portmapAdd } from './add';
import { portmapCheck } from './check';
import { loadPortmapConfig, type PortmapConf } from './config';
import { portmapDel } from './del';
import { portmapGc } from './gc';
import { portmapStatus } from './status';

/** The portmap plugin's handlers (loaded by plugins/portmap.ts after VERSION and the environment checks). */
export const handlers: PluginHandlers<PortmapConf> = {
  parseConfig: loadPortmapConfig,
  add: portmapAdd,
  del: portmapDel,
  check: portmapCheck,
  gc: portmapGc,
  status: portmapStatus,
};
