import type { CmdContext } from '../cni/skel';
import { firewallClient } from '../firewall/client';
import { familyOf } from '../net/cidr';
import type { Rollback } from '../util/rollback';
import { log } from '../log/logger';
import { linkJailnetd, type LinkConf } from './config';

/**
 * ipMasq of the link plugins: what the nat plugin does, through jailnetd (daemon/firewall.ts),
 * which records the attachment's NAT membership and runs pfctl. Each step is one request.
 */

const attachment = (ctx: CmdContext<LinkConf>) => ({ network: ctx.config.name, containerID: ctx.containerId, ifname: ctx.ifname });

/** Puts the jail's IPv4 addresses in the network's NAT; the undo takes out only those this call added. */
export async function joinNat(ctx: CmdContext<LinkConf>, jail: string, addresses: readonly string[], rollback: Rollback): Promise<void> {
  const v4 = addresses.map((a) => a.split('/')[0] as string).filter((a) => familyOf(a) === 4);
  if (v4.length === 0) return;
  const client = firewallClient(linkJailnetd(ctx.config), ctx.env);
  const { egressInterface } = ctx.config;
  const reply = await client.addNat({ ...attachment(ctx), jail, addresses: v4, ...(egressInterface ? { egressInterface } : {}) });
  for (const w of reply.warnings ?? []) log.warn(w);
  const created = reply.added.filter((a) => a.created).map((a) => a.address);
  if (created.length > 0) rollback.push(`NAT of ${created.join(', ')}`, () => client.removeNat({ ...attachment(ctx), addresses: created }));
}

/** Takes the attachment's addresses out of NAT (jailnetd knows them: no prevResult needed). */
export async function leaveNat(ctx: CmdContext<LinkConf>): Promise<void> {
  await firewallClient(linkJailnetd(ctx.config), ctx.env).removeNat(attachment(ctx));
}

/** CHECK: jailnetd records the addresses, the rule is loaded and the table holds them. */
export async function checkNat(ctx: CmdContext<LinkConf>, addresses: readonly string[]): Promise<void> {
  const v4 = addresses.map((a) => a.split('/')[0] as string).filter((a) => familyOf(a) === 4);
  if (v4.length === 0) return;
  await firewallClient(linkJailnetd(ctx.config), ctx.env).checkNat({ ...attachment(ctx), addresses: v4 });
}
