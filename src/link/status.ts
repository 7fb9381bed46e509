import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import { CommandError } from '../freebsd/exec';
import { isUnknownOid } from '../freebsd/parse/sysctl';
import { isPfEnabled } from '../freebsd/pfctl';
import { getSysctl } from '../freebsd/sysctl';
import { firewallClient } from '../firewall/client';
import { linkJailnetd, type LinkConf } from './config';
import { ipamOfJailnetd, ipamReady } from './ipam';

/**
 * STATUS: can this host serve ADD? The kernel has VIMAGE (vnet jails), pf is enabled when the
 * network masquerades, `extra` checks the plugin's own needs, IPAM is ready, and jailnetd
 * (which owns the NAT) answers when the network masquerades.
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
  await ipamReady(ctx);
  // ipMasq's NAT is jailnetd's; with jailnetd's IPAM, ipamReady has asked it already.
  if (conf.ipMasq && !ipamOfJailnetd(conf)) {
    try {
      await firewallClient(linkJailnetd(conf), ctx.env).health();
    } catch (err) {
      const e = CniError.from(err);
      throw new CniError(CniCode.NotAvailable, `network ${conf.name} masquerades but ${e.message}`, e.details);
    }
  }
}
