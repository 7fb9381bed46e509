import { requirePrevResult, sandboxAddresses } from '../cni/chained';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import type { Result } from '../cni/types';
import { cidr } from '../freebsd/values';
import { jailFromNetns, jailIfname } from '../jail/target';
import { checkFailed } from '../link/check';
import { log } from '../log/logger';
import { addressOf, canonicalAddress, familyOf } from '../net/cidr';
import { natAnchor } from '../pf/anchors';
import { requirePfWithHooks } from '../pf/status';
import { withRollback } from '../util/rollback';
import type { NatConf } from './config';
import { masqueradeAdd, masqueradeMembers, masqueradeRemove, requireMasqueradeRule } from './masquerade';

/**
 * The nat plugin (chained after bridge or epair): outbound NAT for the jail's IPv4 addresses,
 * exactly what bridge's ipMasq does (src/nat/masquerade.ts: the network's anchor
 * `jailnet/nat-NETWORK`, one rule over the table `masq`). IPv6 addresses are routed, not
 * translated. The result is prevResult, unchanged.
 */

type Ctx = CmdContext<NatConf>;

/** The jail's addresses in prevResult, each checked before it becomes a pfctl argument. */
function jailAddresses(prev: Result): string[] {
  return sandboxAddresses(prev).map((a) => {
    try {
      return addressOf(cidr(a));
    } catch (err) {
      throw new CniError(CniCode.InvalidNetworkConfig, `prevResult: ${(err as Error).message}`);
    }
  });
}

/** CNI_NETNS and CNI_IFNAME are not used, but a hostile one fails like in every jailnet plugin. */
function checkNames(ctx: Ctx): void {
  if (ctx.netns !== '' || ctx.command !== 'DEL') jailFromNetns(ctx.netns);
  jailIfname(ctx.ifname);
}

const target = (conf: NatConf) => ({ network: conf.name, egressInterface: conf.egressInterface });

export async function natAdd(ctx: Ctx): Promise<Result> {
  const prev = requirePrevResult(ctx.prevResult, 'nat', 'ADD');
  checkNames(ctx);
  const addresses = jailAddresses(prev);
  if (!addresses.some((a) => familyOf(a) === 4)) log.info('nat: prevResult has no IPv4 address; nothing to translate (IPv6 is routed)');
  await withRollback((rollback) => masqueradeAdd(target(ctx.config), addresses, rollback));
  return prev;
}

export async function natDel(ctx: Ctx): Promise<void> {
  checkNames(ctx);
  if (!ctx.prevResult) {
    // The addresses are only in prevResult; a stale table entry translates nothing once the
    // jail is gone, and the address's next ADD puts it back anyway.
    log.info(`nat DEL without prevResult: no address to take out of ${natAnchor(ctx.config.name)}`);
    return;
  }
  await masqueradeRemove(target(ctx.config), jailAddresses(ctx.prevResult));
}

export async function natCheck(ctx: Ctx): Promise<void> {
  const prev = requirePrevResult(ctx.prevResult, 'nat', 'CHECK');
  checkNames(ctx);
  const v4 = jailAddresses(prev).filter((a) => familyOf(a) === 4);
  if (v4.length === 0) return;
  const anchor = natAnchor(ctx.config.name);
  await requireMasqueradeRule(ctx.config.name);
  const members = new Set((await masqueradeMembers(ctx.config.name)).map(canonicalAddress));
  const missing = v4.filter((a) => !members.has(canonicalAddress(a)));
  if (missing.length > 0) throw checkFailed(`the NAT table <masq> of ${anchor} lacks ${missing.join(', ')}`);
}

export async function natStatus(): Promise<void> {
  await requirePfWithHooks('nat', ['nat-anchor']);
}
