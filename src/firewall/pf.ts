import { isPfObjectMissing, isToolMissing } from '../freebsd/errors';
import { changeTable, flushAnchor, killTable, listAnchors, loadAnchor, parseAnchorRules, showRules, showTable } from '../freebsd/pfctl';
import { ANCHOR_ROOT, dnsAnchor, ingressAnchor, MASQ_TABLE, natAnchor, portmapAnchor, portmapAnchorNetwork } from '../pf/anchors';
import { renderDnsRules } from '../pf/dns-rules';
import { renderIngressRules } from '../pf/ingress-rules';
import { renderMasqueradeRules } from '../pf/nat-rules';
import { renderPortmapRules } from '../pf/port-rules';
import { canonicalAddress } from '../net/cidr';
import { planRedirects } from '../portmap/plan';
import { describeReadiness, pfReadiness, type PfHook } from '../pf/status';
import type { FirewallDriver } from './driver';
import type { AttachmentId, PortForward } from './intent';

/**
 * The pf backend: a network's NAT is the anchor `jailnet/nat-NETWORK` with one rule over the
 * table `masq`, loaded with its first members in one `pfctl -f` (one table change per later
 * member); an attachment's port forwards are its own anchor `jailnet/pm-NETWORK-HASH`, loaded
 * whole in one `pfctl -f` (atomic) and emptied with `-F all`.
 * Rule text comes from the renderers in src/pf/.
 */

/** The rules of an attachment's port-forward anchor (pure). */
export function renderPortForward(fwd: PortForward, externalInterface: string | undefined): string {
  return renderPortmapRules(planRedirects(fwd.mappings, fwd.target, { externalInterface, snat: fwd.snat }));
}

export function portForwardAnchor(id: AttachmentId): string {
  return portmapAnchor(id.network, id.containerID, id.ifname);
}

/** Reading or removing state on a host without pfctl finds nothing: nothing of jailnet's is there. */
async function orNothing<T>(work: Promise<T>, nothing: T): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isToolMissing(err)) return nothing;
    throw err;
  }
}

export const pfDriver: FirewallDriver = {
  name: 'pf',

  async readiness(kinds) {
    const hooks = kinds.map((k): PfHook => ({ nat: 'nat-anchor', rdr: 'rdr-anchor', filter: 'anchor' } as const)[k]);
    return describeReadiness(await orNothing(pfReadiness(hooks), { enabled: false, missingHooks: [] }), 'pf');
  },

  async addNatMembers(network, addresses, egress) {
    if (addresses.length === 0) return false;
    const anchor = natAnchor(network);
    const change = await changeTable('add', MASQ_TABLE, addresses, anchor);
    if (!change.tableCreated) return false;
    // The table was not there: this is the network's first member, so load its rule. If that
    // fails, drop the table again (it holds only these addresses) so that the next add retries.
    try {
      await loadAnchor(anchor, renderMasqueradeRules(await egress(), MASQ_TABLE));
    } catch (err) {
      await killTable(MASQ_TABLE, anchor);
      throw err;
    }
    return true;
  },

  async setupNetworkNat(network, addresses, egress) {
    if (addresses.length === 0) return;
    // One `pfctl -f`: one DIOCX transaction (pfctl.c pfctl_rules), so a failure loads neither
    // the rule nor the table, and a table that was there holds exactly `addresses` afterwards
    // (renderMasqueradeRules says why).
    await loadAnchor(natAnchor(network), renderMasqueradeRules(await egress(), MASQ_TABLE, addresses));
  },

  async removeNatMembers(network, addresses) {
    if (addresses.length === 0) return;
    try {
      await changeTable('delete', MASQ_TABLE, addresses, natAnchor(network));
    } catch (err) {
      if (!isPfObjectMissing(err) && !isToolMissing(err)) throw err;
    }
  },

  async teardownNetworkNat(network) {
    // `-F all` on the anchor takes its tables with its rules.
    await orNothing(flushAnchor(natAnchor(network)), undefined);
  },

  natMembers: (network) => orNothing(showTable(MASQ_TABLE, natAnchor(network)), []),

  async natDifference(network, addresses) {
    const anchor = natAnchor(network);
    if ((await showRules('nat', anchor)).length === 0) {
      // The rule is loaded with the table: a rule flushed by hand while the table stayed comes
      // back only when the table is made again.
      return { message: `the NAT anchor ${anchor} has no rule`, fix: `flush the anchor (pfctl -a ${anchor} -F all) and DEL and ADD the network's attachments: the first ADD loads the rule again` };
    }
    const members = new Set((await showTable(MASQ_TABLE, anchor)).map(canonicalAddress));
    const missing = addresses.filter((a) => !members.has(canonicalAddress(a)));
    if (missing.length > 0) return { message: `the NAT table <${MASQ_TABLE}> of ${anchor} lacks ${missing.join(', ')}`, fix: 'DEL and ADD the attachment again to repair it' };
    return undefined;
  },

  async setPortForward(fwd, externalInterface) {
    await loadAnchor(portForwardAnchor(fwd), renderPortForward(fwd, externalInterface));
  },

  removePortForward: (id) => orNothing(flushAnchor(portForwardAnchor(id)), undefined),

  async portForwardDifference(fwd, externalInterface) {
    const anchor = portForwardAnchor(fwd);
    // Compared in pfctl's own printed form: the expected rules through `pfctl -nv`, the loaded
    // ones from `-s nat`, so port names and pool options print the same on both sides.
    const expected = await parseAnchorRules(anchor, renderPortForward(fwd, externalInterface));
    const loaded = await showRules('nat', anchor);
    const missing = expected.filter((r) => !loaded.includes(r));
    if (missing.length > 0) return `anchor ${anchor} lacks ${missing.length === 1 ? 'the rule' : `${missing.length} rules, first`} \`${missing[0]}\``;
    const extra = loaded.filter((r) => !expected.includes(r));
    if (extra.length > 0) return `anchor ${anchor} has a rule ADD would not load: \`${extra[0]}\``;
    return undefined;
  },

  async staleForwards(network, keep) {
    const kept = new Set(keep.map(portForwardAnchor));
    return (await orNothing(listAnchors(ANCHOR_ROOT), [])).filter((anchor) => portmapAnchorNetwork(anchor) === network && !kept.has(anchor));
  },

  async removeForwardHandle(handle) {
    if (portmapAnchorNetwork(handle) === undefined) throw new Error(`${handle} is not a port-forward anchor`);
    await flushAnchor(handle);
  },

  async setupIngress(network, rules) {
    await loadAnchor(ingressAnchor(network), renderIngressRules(rules));
  },

  teardownIngress: (network) => orNothing(flushAnchor(ingressAnchor(network)), undefined),

  async ingressDifference(network, rules) {
    const anchor = ingressAnchor(network);
    // `-s rules` prints no tables: the rules that use them are compared.
    const expected = (await parseAnchorRules(anchor, renderIngressRules(rules))).filter((r) => !r.startsWith('table <'));
    const loaded = await showRules('rules', anchor);
    const missing = expected.filter((r) => !loaded.includes(r));
    if (missing.length > 0) return `anchor ${anchor} lacks ${missing.length === 1 ? 'the rule' : `${missing.length} rules, first`} \`${missing[0]}\``;
    const extra = loaded.filter((r) => !expected.includes(r));
    if (extra.length > 0) return `anchor ${anchor} has a rule ADD would not load: \`${extra[0]}\``;
    return undefined;
  },

  async setDnsAccess(network, access) {
    await loadAnchor(dnsAnchor(network), renderDnsRules(access));
  },

  removeDnsAccess: (network) => orNothing(flushAnchor(dnsAnchor(network)), undefined),
};

/** The firewall backend of this host. pf is the only one FreeBSD jailnet supports. */
export function firewallDriver(): FirewallDriver {
  return pfDriver;
}
