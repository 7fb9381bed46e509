import { ipamAdd, ipamDel, ipamPluginPath } from '../cni/delegate';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { jailFromNetns, jailIfname } from '../jail/target';
import type { Rollback } from '../util/rollback';
import { requestedMac, type LinkConf } from './config';
import { createEpairLink, requireVnetJail, type Epair, type HostEndSpec } from './epair';
import { attachmentMacs, hostEndName, HOST_END_GROUP } from './naming';

/**
 * The start of a link plugin's ADD, the same for bridge and epair: the attachment's names
 * (checked before anything runs), its lease with the undo, and the epair whose host end carries
 * the attachment's name.
 */
export interface AttachmentStart {
  jail: string;
  hostEnd: string;
  hostMac: string;
  jailMac: string;
  /** The IPAM result; empty when the network has no IPAM. */
  ipam: Result;
  /** Creates the epair; its host end gets the attachment's name, MAC and group. */
  createLink(spec: Omit<HostEndSpec, 'name' | 'mac' | 'group'>): Promise<Epair>;
}

export async function beginAttachment(ctx: CmdContext<LinkConf>, rollback: Rollback): Promise<AttachmentStart> {
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  const hostEnd = hostEndName(ctx.containerId, ctx.ifname);
  const macs = attachmentMacs(ctx.containerId, ctx.ifname);
  const jailMac = requestedMac(ctx.config, ctx.args) ?? macs.jail;
  const withIpam = Boolean(ctx.config.ipam?.type);
  if (withIpam) ipamPluginPath(ctx);
  // A read-only look (one jls) so that a missing or non-vnet jail is refused before the lease
  // and the epair exist.
  await requireVnetJail(jail);

  const ipam: Result = withIpam ? await ipamAdd(ctx) : { cniVersion: ctx.cniVersion };
  // A repeated ADD finds the host end's name taken; the lease IPAM returned is then that
  // attachment's own and must stay.
  let attachmentExists = false;
  if (withIpam) rollback.push('IPAM lease', () => (attachmentExists ? Promise.resolve() : ipamDel(ctx)));

  return {
    jail,
    hostEnd,
    hostMac: macs.host,
    jailMac,
    ipam,
    createLink: (spec) =>
      createEpairLink({ ...spec, name: hostEnd, mac: macs.host, group: HOST_END_GROUP }, rollback).catch((err: unknown) => {
        attachmentExists = err instanceof CniError && err.code === CniCode.ResourceConflict;
        throw err;
      }),
  };
}
