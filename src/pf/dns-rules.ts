import { ipAddress } from '../freebsd/values';
import { BRIDGE_GROUP, HOST_END_GROUP } from '../link/naming';
import { familyOf, networkCidr } from '../net/cidr';

/**
 * The filter rules that let a network's jails reach jailnetd's DNS server on their gateway, in
 * the network's DNS anchor (`jailnet/0dns-NETWORK`, src/pf/anchors.ts). It is a child of the
 * `anchor "jailnet/*"` hook, whose children pf evaluates in strcmp order (the wildcard
 * anchor's tree of names): "0" sorts before every letter, so these rules come before the
 * isolation rules of other anchors, and `quick` ends the evaluation there, so that an isolated
 * or internal network still resolves names.
 *
 * - udp and tcp from the network's subnets to each gateway, port 53, in on the bridges
 *   (group `jailnet`) and the epair host ends (group `jailnet_host`); the udp replies out.
 * - udp without state, and the host's port-unreachable answers from the gateway to the subnet
 *   dropped: while jailnetd restarts nothing listens, and libc's resolver gives up on a
 *   refusal at once (lib/libc/resolv/res_send.c) but retries after a timeout. Without state,
 *   pf matches the ICMP error against the rules instead of passing it with the query's state
 *   (pf.c pf_test_state_icmp finds no state). The price: a jail's udp to another closed port
 *   of its gateway times out instead of being refused.
 */
export interface DnsAccess {
  /** Gateway addresses the server listens on. */
  gateways: readonly string[];
  /** The network's subnets (CIDR); only the family of each gateway is used with it. */
  subnets: readonly string[];
}

const INTERFACES = `{ ${BRIDGE_GROUP} ${HOST_END_GROUP} }`;

export function renderDnsRules(access: DnsAccess): string {
  const lines: string[] = [];
  for (const gateway of access.gateways) {
    const gw = ipAddress(gateway);
    const family = familyOf(gw);
    const af = family === 4 ? 'inet' : 'inet6';
    const icmp = family === 4 ? 'proto icmp from' : 'proto icmp6 from';
    const icmpType = family === 4 ? 'icmp-type unreach code port-unr' : 'icmp6-type unreach code port-unr';
    for (const subnet of access.subnets.filter((s) => familyOf(s.split('/')[0] as string) === family).map(networkCidr)) {
      lines.push(
        `pass in quick on ${INTERFACES} ${af} proto udp from ${subnet} to ${gw} port 53 no state`,
        `pass out quick on ${INTERFACES} ${af} proto udp from ${gw} port 53 to ${subnet} no state`,
        `pass in quick on ${INTERFACES} ${af} proto tcp from ${subnet} to ${gw} port 53 flags S/SA keep state`,
        `block drop out quick on ${INTERFACES} ${af} ${icmp} ${gw} to ${subnet} ${icmpType}`,
      );
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
