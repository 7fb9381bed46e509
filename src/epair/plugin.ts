import type { PluginHandlers } from '../cni/skel';
import { linkDel } from '../link/del';
import { linkGc } from '../link/gc';
import { linkStatus } from '../link/status';
import { epairAdd } from './add';
import { epairCheck } from './check';
import { loadEpairConfig, type EpairConf } from './config';

/** The epair plugin's handlers (loaded by plugins/epair.ts after VERSION and the environment checks). */
export const handlers: PluginHandlers<EpairConf> = {
  parseConfig: loadEpairConfig,
  add: epairAdd,
  del: linkDel,
  check: epairCheck,
  gc: linkGc,
  status: (ctx) => linkStatus(ctx),
};
