import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../cni/delegate';
import type { CmdContext, GcContext } from '../cni/skel';
import type { Result } from '../cni/types';
import * as jailnetIpam from '../ipam/plugin';
import { ipamConfigOf, ipamOfJailnetd, type IpamPluginConfig } from '../ipam/plugin-config';

export { ipamOfJailnetd };
import type { LinkConf } from './config';

/**
 * IPAM for the link plugins. When `ipam.type` is jailnet-ipam or host-local they talk to jailnetd themselves
 * (the same code as the jailnet-ipam executable, src/ipam/plugin.ts): one request instead of a
 * process start, and the answer says whether the lease is new, so that a failed ADD releases
 * only a lease it created. Any other IPAM type is run as CNI delegates it (the executable found
 * in CNI_PATH, src/cni/delegate.ts); its result cannot say whether the lease is new.
 */


export interface IpamAllocation {
  /** The IPAM result; empty when the network has no IPAM. */
  result: Result;
  /** Whether this call created the lease; undefined when the IPAM plugin cannot say (delegated). */
  created: boolean | undefined;
}

/** The context jailnet-ipam's commands take, when the network's IPAM is jailnet-ipam. */
function direct<C extends LinkConf>(ctx: CmdContext<C>): CmdContext<IpamPluginConfig> | undefined {
  if (!ipamOfJailnetd(ctx.config)) return undefined;
  // The plugin's configuration holds the ipam section, the name, runtimeConfig.ips and args.cni.ips.
  return { ...ctx, config: ipamConfigOf(ctx.config) };
}

const hasIpam = (conf: LinkConf) => Boolean(conf.ipam?.type);

/** `dns`: names for jailnetd's DNS server (only with jailnet-ipam, src/link/dns.ts). */
export async function ipamAllocate<C extends LinkConf>(ctx: CmdContext<C>, dns?: { names: string[]; domain?: string }): Promise<IpamAllocation> {
  if (!hasIpam(ctx.config)) return { result: { cniVersion: ctx.cniVersion }, created: false };
  const own = direct(ctx);
  if (own) return jailnetIpam.allocate(own, dns);
  return { result: await ipamAdd(ctx), created: undefined };
}

export async function ipamRelease<C extends LinkConf>(ctx: CmdContext<C>): Promise<void> {
  if (!hasIpam(ctx.config)) return;
  const own = direct(ctx);
  await (own ? jailnetIpam.release(own) : ipamDel(ctx));
}

export async function ipamVerify<C extends LinkConf>(ctx: CmdContext<C>): Promise<void> {
  if (!hasIpam(ctx.config)) return;
  const own = direct(ctx);
  await (own ? jailnetIpam.check(own) : ipamCheck(ctx));
}

export async function ipamCollect<C extends LinkConf>(ctx: GcContext<C>): Promise<void> {
  if (!hasIpam(ctx.config)) return;
  const own = direct(ctx);
  await (own ? jailnetIpam.gc({ ...own, validAttachments: ctx.validAttachments }) : ipamGc(ctx));
}

export async function ipamReady<C extends LinkConf>(ctx: CmdContext<C>): Promise<void> {
  if (!hasIpam(ctx.config)) return;
  const own = direct(ctx);
  await (own ? jailnetIpam.status(own) : ipamStatus(ctx));
}
