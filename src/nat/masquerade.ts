import { CniCode, CniError } from '../cni/errors';
import { changeTable, flushAnchor, killTable, loadAnchor, showRules, showTable } from '../freebsd/pfctl';
import { defaultRouteInterface } from '../freebsd/route';
import { isPfObjectMissing } from '../freebsd/errors';
import { familyOf } from '../net/cidr';
import { MASQ_TABLE, natAnchor } from '../pf/anchors';
import { renderMasqueradeRules } from '../pf/nat-rules';
import { withFileLock } from '../util/file-lock';
import type { Rollback } from '../util/rollback';

/**
 * Outbound NAT for a network's jails (bridge `ipMasq`, the `nat` plugin): one pf anchor per
 * network with one rule over a table, so adding or removing a jail is one table change.
 * The anchor's rule is loaded when the table is created (first jail of the network), which
 * pfctl reports, so the usual ADD costs one pfctl call.
 */

export interface MasqueradeTarget {
  network: string;
  /** The egress interface; the IPv4 default route's interface when absent. */
  egressInterface?: string;
}

function ipv4Only(addresses: readonly string[]): string[] {
  return addresses.map((a) => a.split('/')[0] as string).filter((a) => familyOf(a) === 4);
}

export async function masqueradeAdd(target: MasqueradeTarget, addresses: readonly string[], rollback: Rollback): Promise<void> {
  const ips = ipv4Only(addresses);
  if (ips.length === 0) return;
  const anchor = natAnchor(target.network);
  // Under the network's lock: an ADD that finds the table made by another never returns before
  // that other one has loaded the rule (or, failing, removed the table again).
  await withFileLock(`nat-${target.network}`, async () => {
    const change = await changeTable('add', MASQ_TABLE, ips, anchor);
    if (!change.tableCreated) {
      rollback.push(`NAT of ${ips.join(', ')}`, () => masqueradeRemove(target, ips));
      return;
    }
    // First jail of the network (or the anchor was flushed): load the rule. If that fails, drop the
    // table again (it holds only our addresses) so that the next ADD retries the load.
    try {
      const egress = target.egressInterface ?? (await defaultRouteInterface(4));
      if (!egress) {
        throw new CniError(CniCode.InvalidNetworkConfig, `ipMasq: the host has no IPv4 default route to masquerade through`, 'set "egressInterface" in the network configuration, or add a default route');
      }
      await loadAnchor(anchor, renderMasqueradeRules(egress, MASQ_TABLE));
    } catch (err) {
      await killTable(MASQ_TABLE, anchor);
      throw err;
    }
    rollback.push(`NAT of ${ips.join(', ')}, and the rule and table this ADD made`, () => undoFirstMasquerade(target, ips));
  });
}

/**
 * Undoes the ADD that made the network's NAT table and loaded its rule: its addresses leave the
 * table and, when no other jail has joined since (the table is then empty), the rule and the
 * table go too, so that a failed first ADD leaves no pf rule behind. Under the network's lock,
 * as ADDs join the table under it.
 */
async function undoFirstMasquerade(target: MasqueradeTarget, ips: readonly string[]): Promise<void> {
  const anchor = natAnchor(target.network);
  await withFileLock(`nat-${target.network}`, async () => {
    await masqueradeRemove(target, ips);
    if ((await showTable(MASQ_TABLE, anchor)).length > 0) return;
    // `pfctl -a ANCHOR -F all` takes the anchor's tables with its rules.
    await flushAnchor(anchor);
  });
}

export async function masqueradeRemove(target: MasqueradeTarget, addresses: readonly string[]): Promise<void> {
  const ips = ipv4Only(addresses);
  if (ips.length === 0) return;
  try {
    await changeTable('delete', MASQ_TABLE, ips, natAnchor(target.network));
  } catch (err) {
    if (!isPfObjectMissing(err)) throw err;
  }
}

/**
 * What CHECK verifies: the anchor has its rule. The rule is loaded with the table, so a rule
 * flushed by hand while the table stayed comes back only when the table is made again.
 */
export async function requireMasqueradeRule(network: string): Promise<void> {
  if (await masqueradeRulesLoaded(network)) return;
  const anchor = natAnchor(network);
  throw new CniError(CniCode.CheckFailed, `the NAT anchor ${anchor} has no rule`, `flush the anchor (pfctl -a ${anchor} -F all) and DEL and ADD the network's attachments: the first ADD loads the rule again`);
}

/** Whether the anchor has its rule. */
export async function masqueradeRulesLoaded(network: string): Promise<boolean> {
  return (await showRules('nat', natAnchor(network))).length > 0;
}

/** The addresses in the network's NAT table (empty when it does not exist). */
export async function masqueradeMembers(network: string): Promise<string[]> {
  return showTable(MASQ_TABLE, natAnchor(network));
}
