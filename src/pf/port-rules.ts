import { interfaceName } from '../freebsd/names';
import { cidr, ipAddress, portNumber } from '../freebsd/values';

/**
 * Rules of a per-attachment portmap anchor, rendered from validated values (pure; the anchor is
 * loaded in one `pfctl -a ... -f -`). For each published port range:
 *
 *   rdr pass on ! lo0 inet proto tcp from any to (em0) port 8080 tag jailnet_rdr -> 10.88.0.5 port 80
 *   rdr pass on ! lo0 inet proto tcp from any to (jailnet0) port 8080 tag jailnet_rdr -> 10.88.0.5 port 80
 *   nat on jailnet0 inet proto tcp from 10.88.0.0/16 to 10.88.0.5 port 80 tagged jailnet_rdr -> (jailnet0:0)
 *
 * The rdr rules apply wherever a packet comes in except lo0: em0 (the world), the bridge or an
 * epair (other jails, through the host's address: pf does not reflect otherwise). The host's
 * own connections arrive on lo0, and a redirect there cannot work: the jail's reply would come
 * back on the bridge with a local source address, which FreeBSD drops
 * (net.inet.ip.source_address_validation); connections from the host need a proxy instead
 * (issue 9.1). Their destination is a host address, so a jail's own outbound connections to
 * other hosts' port 8080 are not touched. `(if)` follows the interface's addresses. `pass`
 * skips the filter rules, as a published port should.
 *
 * The nat rule makes replies of a neighbour on the same bridge come back through the host: the
 * neighbour's source becomes the bridge's first address. pf also sees frames bridged between
 * two jails (if_bridge's pfil_member/pfil_bridge), so the rule takes only connections an rdr
 * rule of jailnet tagged: a jail talking to another jail's address directly keeps its own.
 */

/** The tag jailnet's rdr rules put on what they redirect, for the hairpin nat rule. */
export const REDIRECT_TAG = 'jailnet_rdr';

export type PortProtocol = 'tcp' | 'udp';

/** A host address a redirect listens on: one address, or the (followed) addresses of an interface. */
export type HostAddress = { address: string } | { interface: string };

export interface PortRedirect {
  family: 4 | 6;
  protocol: PortProtocol;
  to: readonly HostAddress[];
  hostPort: number;
  /** Last host port of a range (inclusive); equal to hostPort for one port. */
  hostPortEnd: number;
  jailAddress: string;
  /** The jail's port for hostPort; a range maps one to one from here. */
  containerPort: number;
  /** Translate neighbours on `bridge` (source `subnet`) to the bridge's address: hairpin replies. */
  hairpin?: { bridge: string; subnet: string };
}

const inetOf = (family: 4 | 6) => (family === 6 ? 'inet6' : 'inet');

function hostAddress(a: HostAddress): string {
  return 'address' in a ? ipAddress(a.address) : `(${interfaceName(a.interface)})`;
}

function portRange(first: number, last: number): string {
  portNumber(first);
  portNumber(last);
  if (last < first) throw new RangeError(`port range ${first}:${last} runs backwards`);
  return last === first ? `${first}` : `${first}:${last}`;
}

function checkFamily(address: string, family: 4 | 6): string {
  const ok = family === 6 ? address.includes(':') : !address.includes(':');
  if (!ok) throw new RangeError(`address ${address} is not IPv${family}`);
  return address;
}

/** The rdr rules of one redirect, one per host address. */
export function renderRedirect(r: PortRedirect): string[] {
  const span = r.hostPortEnd - r.hostPort;
  const jail = checkFamily(ipAddress(r.jailAddress), r.family);
  portRange(r.containerPort, r.containerPort + span);
  // `port C:*` maps a host range one to one onto the range starting at C.
  const target = span === 0 ? `${r.containerPort}` : `${r.containerPort}:*`;
  return r.to.map((to) => {
    const dest = hostAddress(to);
    if ('address' in to) checkFamily(to.address, r.family);
    return `rdr pass on ! lo0 ${inetOf(r.family)} proto ${r.protocol} from any to ${dest} port ${portRange(r.hostPort, r.hostPortEnd)} tag ${REDIRECT_TAG} -> ${jail} port ${target}`;
  });
}

/** The hairpin nat rule of one redirect, if it has one. */
export function renderHairpin(r: PortRedirect): string[] {
  if (!r.hairpin) return [];
  const bridge = interfaceName(r.hairpin.bridge);
  const subnet = checkFamily(cidr(r.hairpin.subnet), r.family);
  const jail = checkFamily(ipAddress(r.jailAddress), r.family);
  const ports = portRange(r.containerPort, r.containerPort + (r.hostPortEnd - r.hostPort));
  return [`nat on ${bridge} ${inetOf(r.family)} proto ${r.protocol} from ${subnet} to ${jail} port ${ports} tagged ${REDIRECT_TAG} -> (${bridge}:0)`];
}

/** The whole anchor: translation rules, nat before rdr (the order `pfctl -s nat` prints them in). */
export function renderPortmapRules(redirects: readonly PortRedirect[]): string {
  const lines = [...new Set([...redirects.flatMap(renderHairpin), ...redirects.flatMap(renderRedirect)])];
  return lines.map((l) => `${l}\n`).join('');
}
