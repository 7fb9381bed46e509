import { ipamPluginPath } from '../cni/delegate';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { jailFromNetns, jailIfname } from '../jail/target';
import type { Rollback } from '../util/rollback';
import { requestedMac, type LinkConf } from './config';
import { dnsRequest } from './dns';
import { createEpairLink, requireVnetJail, type Epair, type HostEndSpec } from './epair';
import { ipamAllocate, ipamOfJailnetd, ipamRelease } from './ipam';
import type { JailIdentity } from './known';
import { attachmentMacs, epairUnits, hostEndName, HOST_END_GROUP } from './naming';

/**
 * The start of a link plugin's ADD, the same for bridge and epair: the attachment's names
 * (checked before anything runs), its lease with the undo, and the epair whose host end carries
 * the attachment's name.
 */
export interface AttachmentStart {
  jail: string;
  /** The jail as jls named it (its JID tells it from an earlier jail of the same name: known.ts). */
  jailId: JailIdentity;
  hostEnd: string;
  hostMac: string;
  jailMac: string;
  /** The IPAM result; empty when the network has no IPAM. */
  ipam: Result;
  /** Whether the attachment uses jailnetd's DNS server (call serveDns once the gateway is in place). */
  dns: boolean;
  /** Creates the epair; its host end gets the attachment's name, MAC and group. */
  createLink(spec: Omit<HostEndSpec, 'name' | 'mac' | 'group' | 'units'>): Promise<Epair>;
}

export async function beginAttachment(ctx: CmdContext<LinkConf>, rollback: Rollback, opts: { gatewayOnHost: boolean }): Promise<AttachmentStart> {
  const jail = jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
  const hostEnd = hostEndName(ctx.containerId, ctx.ifname);
  const macs = attachmentMacs(ctx.containerId, ctx.ifname);
  const jailMac = requestedMac(ctx.config, ctx.args) ?? macs.jail;
  const dns = dnsRequest(ctx, opts.gatewayOnHost);
  // Before anything changes: the IPAM plugin exists (when it is run as a process), and a
  // read-only look (one jls) refuses a missing or non-vnet jail before the lease and the epair.
  if (ctx.config.ipam?.type && !ipamOfJailnetd(ctx.config)) ipamPluginPath(ctx);
  const { name, jid } = await requireVnetJail(jail);

  const lease = await ipamAllocate(ctx, dns);
  // Undo only a lease this ADD created: a repeated ADD (same container and ifname) gets the
  // lease of the attachment that is running, which must stay. jailnetd says whether the lease is
  // new; a delegated IPAM plugin cannot, so then the host end's name being taken is the sign.
  let attachmentExists = false;
  if (lease.created === true) rollback.push('IPAM lease', () => ipamRelease(ctx));
  else if (lease.created === undefined) rollback.push('IPAM lease', () => (attachmentExists ? Promise.resolve() : ipamRelease(ctx)));

  return {
    jail,
    jailId: { name, jid },
    hostEnd,
    hostMac: macs.host,
    jailMac,
    ipam: lease.result,
    dns: dns !== undefined,
    createLink: (spec) =>
      createEpairLink({ ...spec, name: hostEnd, units: epairUnits(ctx.containerId, ctx.ifname), mac: macs.host, group: HOST_END_GROUP }, rollback).catch((err: unknown) => {
        attachmentExists = err instanceof CniError && err.code === CniCode.ResourceConflict;
        throw err;
      }),
  };
}

