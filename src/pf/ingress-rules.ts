import type { NetworkIngress } from '../firewall/holdings';
import { interfaceName, tableName } from '../freebsd/names';
import { cidr, ipAddress } from '../freebsd/values';
import { familyOf } from '../net/cidr';
import { BRIDGE_GROUP, HOST_END_GROUP } from '../link/naming';

/**
 * Filter rules of a network's ingress anchor `jailnet/iso-NETWORK` (the firewall plugin's
 * ingressPolicy), rendered from validated values (pure). For a network on bridge0 with
 * 10.88.0.0/16 (gateway 10.88.0.1):
 *
 *   table <iso_net4> { 10.88.0.0/16 }
 *   pass in on bridge0 inet from <iso_net4> to ! <iso_net4> keep state
 *   block return in quick on { jailnet, jailnet_host } inet from ! <iso_net4> to <iso_net4>
 *
 * and for `isolated`, besides:
 *
 *   table <iso_peers4> { 10.88.0.0/16, !10.88.0.1 }
 *   block return in quick on bridge0 inet from <iso_net4> to <iso_peers4>
 *
 * `same-bridge`: what comes in from another jailnet network's link (its bridge, group jailnet,
 * or an epair host end, group jailnet_host) addressed to this network opens no connection. pf
 * looks up states before rules, so replies to the network's own connections still come in:
 * the pass rule keeps state for what the network's jails send elsewhere (a ruleset whose own
 * pass rules keep state needs it not; one that passes by default keeps none, and pf's implicit
 * pass never does). It is not quick, so the main ruleset's later rules still decide. Published
 * ports pass: portmap's `rdr pass` skips the filter. The outside world (em0) and the host are
 * not other jailnet networks and are not blocked. Jails on the same bridge reach each other
 * (their frames come in on this bridge and its members, from the network's own subnets).
 *
 * `isolated` (the reference's: same-bridge, and jails of the same bridge cannot connect to one
 * another either, Docker's enable_icc=false): frames between two jails of the bridge are
 * bridged, and pf sees them "in on" the bridge (net.link.bridge.pfil_bridge=1, the default);
 * the gateway stays reachable, and so do published ports through the host's addresses.
 *
 * The subnets are a table (a network may have several per family, and pf reads a negated list
 * `! { a, b }` as "not a or not b", which is everything). `block return`: a refused connection
 * fails at once (RST, ICMP unreachable) rather than after a timeout.
 */

/** The tables of the anchor, per family: the network's subnets, and what `isolated` keeps apart. */
export const netTable = (family: 4 | 6) => `iso_net${family}`;
export const peersTable = (family: 4 | 6) => `iso_peers${family}`;

export function renderIngressRules(n: NetworkIngress): string {
  const bridge = interfaceName(n.bridge);
  const lines: string[] = [];
  for (const family of [4, 6] as const) {
    const subnets = n.subnets.filter((s) => familyOf(s.cidr) === family);
    if (subnets.length === 0) continue;
    const inet = family === 4 ? 'inet' : 'inet6';
    const nets = subnets.map((s) => cidr(s.cidr));
    const net = `<${tableName(netTable(family))}>`;
    lines.push(`table ${net} { ${nets.join(', ')} }`);
    if (n.policy === 'isolated') {
      const gateways = subnets.flatMap((s) => (s.gateway ? [`!${ipAddress(s.gateway)}`] : []));
      lines.push(`table <${tableName(peersTable(family))}> { ${[...nets, ...gateways].join(', ')} }`);
    }
    lines.push(`pass in on ${bridge} ${inet} from ${net} to ! ${net} keep state`);
    lines.push(`block return in quick on { ${BRIDGE_GROUP}, ${HOST_END_GROUP} } ${inet} from ! ${net} to ${net}`);
    if (n.policy === 'isolated') lines.push(`block return in quick on ${bridge} ${inet} from ${net} to <${peersTable(family)}>`);
  }
  return lines.map((l) => `${l}\n`).join('');
}
