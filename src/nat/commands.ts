import { requirePrevResult, sandboxAddresses } from '../cni/chained';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext, GcContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { firewallClient } from '../firewall/client';
import { cidr } from '../freebsd/values';
import { jailFromNetns, jailIfname } from '../jail/target';
import { log } from '../log/logger';
import { addressOf, familyOf } from '../net/cidr';
import { natAnchor } from '../pf/anchors';
import { requirePfWithHooks } from '../pf/status';
import type { NatConf } from './config';

/**
 * The nat plugin (chained after bridge or epair): outbound NAT for the jail's IPv4 addresses,
 * exactly what bridge's ipMasq does. jailnetd owns the NAT (daemon/firewall.ts): it records
 * which attachment holds which address, runs pfctl (the network's anchor `jailnet/nat-NETWORK`,
 * one rule over the table `masq`) and answers; each command is one request. IPv6 addresses are
 * routed, not translated. The result is prevResult, unchanged.
 */

type Ctx = CmdContext<NatConf>;

/** The jail's IPv4 addresses in prevResult, each checked. */
function jailIpv4(prev: Result): string[] {
  return sandboxAddresses(prev)
    .map((a) => {
      try {
        return addressOf(cidr(a));
      } catch (err) {
        throw new CniError(CniCode.InvalidNetworkConfig, `prevResult: ${(err as Error).message}`);
      }
    })
    .filter((a) => familyOf(a) === 4);
}

/** CNI_NETNS and CNI_IFNAME are not used, but a hostile one fails like in every jailnet plugin. */
function checkNames(ctx: Ctx): void {
  if (ctx.netns !== '' || ctx.command !== 'DEL') jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
}

const client = (ctx: Ctx) => firewallClient(ctx.config.jailnetd, ctx.env);
const attachment = (ctx: Ctx) => ({ network: ctx.config.name, containerID: ctx.containerId, ifname: ctx.ifname });

export async function natAdd(ctx: Ctx): Promise<Result> {
  const prev = requirePrevResult(ctx.prevResult, 'nat', 'ADD');
  checkNames(ctx);
  const addresses = jailIpv4(prev);
  if (addresses.length === 0) {
    log.info('nat: prevResult has no IPv4 address; nothing to translate (IPv6 is routed)');
    return prev;
  }
  const { egressInterface } = ctx.config;
  const reply = await client(ctx).addNat({ ...attachment(ctx), jail: jailFromNetns(ctx.netns), addresses, ...(egressInterface ? { egressInterface } : {}) });
  for (const w of reply.warnings ?? []) log.warn(w);
  return prev;
}

/** Takes out what this attachment holds (jailnetd knows it: no prevResult needed), never another's. */
export async function natDel(ctx: Ctx): Promise<void> {
  checkNames(ctx);
  await client(ctx).removeNat(attachment(ctx));
}

export async function natCheck(ctx: Ctx): Promise<void> {
  const prev = requirePrevResult(ctx.prevResult, 'nat', 'CHECK');
  checkNames(ctx);
  const addresses = jailIpv4(prev);
  if (addresses.length === 0) return;
  await client(ctx).checkNat({ ...attachment(ctx), addresses });
}

/** GC: jailnetd tears down the network's attachments that are not valid, in order. */
export async function natGc(ctx: GcContext<NatConf>): Promise<void> {
  await client(ctx).gc(ctx.config.name, ctx.validAttachments);
}

export async function natStatus(ctx: Ctx): Promise<void> {
  await requirePfWithHooks('nat', ['nat-anchor']);
  try {
    await client(ctx).health();
  } catch (err) {
    const e = CniError.from(err);
    throw new CniError(CniCode.NotAvailable, `nat: ${e.message} (jailnetd owns ${natAnchor(ctx.config.name)})`, e.details);
  }
}
