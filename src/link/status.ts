import { ipamStatus } from '../cni/delegate';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import { CommandError } from '../freebsd/exec';
import { isUnknownOid } from '../freebsd/parse/sysctl';
import { isPfEnabled } from '../freebsd/pfctl';
import { getSysctl } from '../freebsd/sysctl';
import type { LinkConf } from './config';

/**
 * STATUS: can this host serve ADD? The kernel has VIMAGE (vnet jails), pf is enabled when the
 * network masquerades, `extra` checks the plugin's own needs, and IPAM is ready.
 */
export async function linkStatus(ctx: CmdContext<LinkConf>, extra?: () => Promise<void>): Promise<void> {
  const conf = ctx.config;
  let vimage: string | undefined;
  try {
    vimage = await getSysctl('kern.features.vimage');
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    // An unknown OID means a kernel without VIMAGE.
    vimage = isUnknownOid(err.stderr) ? '0' : undefined;
  }
  if (vimage === '0') {
    throw new CniError(CniCode.NotAvailable, 'this kernel has no VIMAGE: vnet jails are not available', 'use a kernel with "options VIMAGE" (GENERIC has it since FreeBSD 12)');
  }
  if (conf.ipMasq && !(await isPfEnabled())) {
    throw new CniError(CniCode.NotAvailable, `network ${conf.name} masquerades but pf is not enabled`, 'sysrc pf_enable=YES && service pf start (see conf/pf.conf for the anchor hooks)');
  }
  if (extra) await extra();
  if (conf.ipam?.type) await ipamStatus(ctx);
}
