/**
 * Protocol and service names as FreeBSD's /etc/protocols and /etc/services give them to pfctl
 * (getprotobyname, getservbyname, getservbyport). Only the common entries are carried: a port
 * without an entry here prints as a number, as FreeBSD prints a port without a name.
 */

const PROTOCOLS: Array<[number, string, ...string[]]> = [
  [0, 'ip'],
  [1, 'icmp'],
  [2, 'igmp'],
  [4, 'ipencap'],
  [6, 'tcp'],
  [8, 'egp'],
  [17, 'udp'],
  [41, 'ipv6'],
  [43, 'ipv6-route'],
  [44, 'ipv6-frag'],
  [46, 'rsvp'],
  [47, 'gre'],
  [50, 'esp'],
  [51, 'ah'],
  [58, 'ipv6-icmp', 'icmp6'],
  [59, 'ipv6-nonxt'],
  [60, 'ipv6-opts'],
  [89, 'ospf'],
  [94, 'ipip'],
  [103, 'pim'],
  [112, 'carp', 'vrrp'],
  [132, 'sctp'],
  [240, 'pfsync'],
];

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export function protoByName(name: string): number | undefined {
  for (const [num, ...names] of PROTOCOLS) if (names.includes(name)) return num;
  return undefined;
}

export function protoName(num: number): string | undefined {
  return PROTOCOLS.find((p) => p[0] === num)?.[1];
}

/** [port, tcp name, udp name, aliases...]: names from FreeBSD's /etc/services. */
const SERVICES: Array<[number, string | null, string | null, ...string[]]> = [
  [7, 'echo', 'echo'],
  [9, 'discard', 'discard', 'sink', 'null'],
  [13, 'daytime', 'daytime'],
  [19, 'chargen', 'chargen'],
  [20, 'ftp-data', 'ftp-data'],
  [21, 'ftp', 'ftp'],
  [22, 'ssh', 'ssh'],
  [23, 'telnet', 'telnet'],
  [25, 'smtp', 'smtp', 'mail'],
  [37, 'time', 'time'],
  [43, 'nicname', 'nicname', 'whois'],
  [53, 'domain', 'domain'],
  [67, 'bootps', 'bootps', 'dhcps'],
  [68, 'bootpc', 'bootpc', 'dhcpc'],
  [69, 'tftp', 'tftp'],
  [70, 'gopher', 'gopher'],
  [79, 'finger', 'finger'],
  [80, 'http', 'http', 'www', 'www-http'],
  [88, 'kerberos-sec', 'kerberos-sec', 'kerberos'],
  [110, 'pop3', 'pop3'],
  [111, 'sunrpc', 'sunrpc', 'rpcbind'],
  [113, 'auth', 'auth', 'ident'],
  [119, 'nntp', 'nntp', 'usenet'],
  [123, 'ntp', 'ntp'],
  [137, 'netbios-ns', 'netbios-ns'],
  [138, 'netbios-dgm', 'netbios-dgm'],
  [139, 'netbios-ssn', 'netbios-ssn'],
  [143, 'imap', 'imap', 'imap2', 'imap4'],
  [161, 'snmp', 'snmp'],
  [162, 'snmptrap', 'snmptrap', 'snmp-trap'],
  [179, 'bgp', 'bgp'],
  [194, 'irc', 'irc'],
  [389, 'ldap', 'ldap'],
  [443, 'https', 'https'],
  [445, 'microsoft-ds', 'microsoft-ds'],
  [465, 'smtps', 'smtps'],
  [500, 'isakmp', 'isakmp'],
  [514, 'shell', 'syslog', 'cmd'],
  [515, 'printer', 'printer', 'spooler'],
  [3306, 'mysql', 'mysql'],
  [3389, 'ms-wbt-server', 'ms-wbt-server', 'rdp'],
  [4500, 'ipsec-nat-t', 'ipsec-nat-t'],
  [5060, 'sip', 'sip'],
  [5353, 'mdns', 'mdns'],
  [5432, 'postgresql', 'postgresql'],
  [5672, 'amqp', 'amqp'],
  [5900, 'vnc-server', 'vnc-server'],
  [6000, 'x11', 'x11'],
  [8080, 'http-alt', 'http-alt'],
  [8118, 'privoxy', 'privoxy'],
  [9418, 'git', 'git'],
];

/** getservbyname(name, "tcp"), then "udp", as pfctl's getservice does. */
export function portByName(name: string): number | undefined {
  for (const [port, tcp, , ...aliases] of SERVICES) {
    if (name === tcp || aliases.includes(name)) return port;
  }
  for (const [port, , udp] of SERVICES) if (name === udp) return port;
  return undefined;
}

/** getservbyport(port, proto) with proto "tcp" or "udp" (pfctl passes "udp" for anything but tcp). */
export function serviceName(port: number, proto: 'tcp' | 'udp'): string | undefined {
  const s = SERVICES.find((e) => e[0] === port);
  if (!s) return undefined;
  return (proto === 'tcp' ? s[1] : s[2]) ?? undefined;
}
