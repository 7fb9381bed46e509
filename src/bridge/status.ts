import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import { showInterface } from '../freebsd/ifconfig';
import { linkStatus } from '../link/status';
import type { BridgeConf } from './config';

/** STATUS of bridge: the link checks, and the bridge name is free or a bridge. */
export function bridgeStatus(ctx: CmdContext<BridgeConf>): Promise<void> {
  return linkStatus(ctx, async () => {
    const info = await showInterface(ctx.config.bridge);
    if (info && !info.groups.includes('bridge')) {
      throw new CniError(CniCode.NotAvailable, `interface ${ctx.config.bridge} exists and is not a bridge`, 'rename that interface or set "bridge" to another name');
    }
  });
}
