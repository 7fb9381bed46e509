import { listInterfaces } from '../freebsd/ifconfig';
import { getSysctls, setSysctl } from '../freebsd/sysctl';
import { log } from '../log/logger';

const OID = { 4: 'net.inet.ip.forwarding', 6: 'net.inet6.ip6.forwarding' } as const;
const RFC6204W3 = 'net.inet6.ip6.rfc6204w3';
const ACCEPT_RTADV = 'net.inet6.ip6.accept_rtadv';

/**
 * Turns on IPv4/IPv6 forwarding (what rc.conf gateway_enable / ipv6_gateway_enable do at boot):
 * the host routes between the jails' links and the outside. It is host-wide and never turned off
 * again, not by DEL and not by a failed ADD: other networks' attachments, including ones being
 * added at the same moment, rely on it without recording that (docs/plugins.md).
 *
 * One `sysctl` reads the knobs first; nothing is written when forwarding is already on. With
 * IPv6 forwarding on, FreeBSD takes no default route from router advertisements unless
 * net.inet6.ip6.rfc6204w3=1 (nd6_ra_input, sys/netinet6/nd6_rtr.c): a host that configures
 * itself by SLAAC would lose its IPv6 default route. So before turning IPv6 forwarding on, when
 * the host takes RAs (net.inet6.ip6.accept_rtadv=1, or an interface with ACCEPT_RTADV in
 * `ifconfig`), rfc6204w3 is set to 1 first, and logged.
 */
export async function enableForwarding(families: readonly (4 | 6)[]): Promise<void> {
  const v6 = families.includes(6);
  const now = await getSysctls([...families.map((f) => OID[f]), ...(v6 ? [RFC6204W3, ACCEPT_RTADV] : [])]);
  if (v6 && now.get(OID[6]) === '0' && now.get(RFC6204W3) === '0' && (await takesRouterAdvertisements(now.get(ACCEPT_RTADV)))) {
    await setSysctl(RFC6204W3, 1);
    log.info(`set ${RFC6204W3}=1 before turning on ${OID[6]}: this host takes router advertisements, and without it forwarding would cost it the default route they give (jailnet does not turn it off again)`, { sysctl: RFC6204W3 });
  }
  for (const f of families) {
    if (now.get(OID[f]) !== '0') continue;
    await setSysctl(OID[f], 1);
    log.info(`turned on ${OID[f]} (was 0); jailnet does not turn it off again`, { sysctl: OID[f] });
  }
}

/** Whether the host configures IPv6 from router advertisements: the default for new interfaces, or an interface's flag. */
export async function takesRouterAdvertisements(acceptRtadv: string | undefined): Promise<boolean> {
  if (acceptRtadv !== undefined && acceptRtadv !== '0') return true;
  return (await listInterfaces()).some((i) => /ACCEPT_RTADV/.test(i.other.nd6 ?? ''));
}
