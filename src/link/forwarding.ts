import { setSysctl } from '../freebsd/sysctl';
import { log } from '../log/logger';

const OID = { 4: 'net.inet.ip.forwarding', 6: 'net.inet6.ip6.forwarding' } as const;

/**
 * Turns on IPv4/IPv6 forwarding (what rc.conf gateway_enable / ipv6_gateway_enable do at boot):
 * the host routes between the jails' links and the outside. It is host-wide and never turned off
 * again, not by DEL and not by a failed ADD: other networks' attachments, including ones being
 * added at the same moment, rely on it without recording that (docs/plugins.md).
 */
export async function enableForwarding(family: 4 | 6): Promise<void> {
  const r = await setSysctl(OID[family], 1);
  if (r.old === '0') log.info(`turned on ${OID[family]} (was 0); jailnet does not turn it off again`, { sysctl: OID[family] });
}
