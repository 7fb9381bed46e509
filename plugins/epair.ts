/**
 * CNI plugin `epair`: a point-to-point link between the host and a vnet jail (CNI_NETNS = jail
 * name or JID), no bridge. See docs/plugins.md.
 */
import { pluginMain } from '../src/cni/skel';
import { epairAdd } from '../src/epair/add';
import { epairCheck } from '../src/epair/check';
import { loadEpairConfig, type EpairConf } from '../src/epair/config';
import { LINK_ARGS } from '../src/link/config';
import { linkDel } from '../src/link/del';
import { linkGc } from '../src/link/gc';
import { linkStatus } from '../src/link/status';

pluginMain<EpairConf>({
  name: 'epair',
  knownArgs: LINK_ARGS,
  parseConfig: loadEpairConfig,
  add: epairAdd,
  del: linkDel,
  check: epairCheck,
  gc: linkGc,
  status: (ctx) => linkStatus(ctx),
});
