import { metaOf, type IfMeta } from '../meta';
import type { AddrInfo, LinuxLink } from '../netns';
import { toFreeBSD } from './names';
import { vxlanStatusLine } from './vxlan';

/** ifconfig(8) status output in the FreeBSD 14 layout (tab-indented lines). */

export interface FormatOptions {
  /** -f inet:cidr|dotted|hex, inet6:cidr, ether:dash, addr:host|fqdn. */
  inet?: 'cidr' | 'dotted' | 'hex' | 'dotted';
  inet6?: 'cidr';
  ether?: 'dash';
  /**
   * addr:fqdn and addr:host print addresses as names (sbin/ifconfig/af_inet.c print_addr:
   * getnameinfo(3), NI_NOFQDN for host, the number when there is no name). Names come from
   * `hostNames`, the emulated host's /etc/hosts: the emulator never asks DNS.
   */
  addr?: 'host' | 'fqdn';
  hostNames?: ReadonlyMap<string, string>;
  /** Only this address family's addresses (ifconfig -a inet). */
  family?: 'inet' | 'inet6' | 'link';
}

const IFF: [string, number][] = [
  ['UP', 0x1],
  ['BROADCAST', 0x2],
  ['LOOPBACK', 0x8],
  ['RUNNING', 0x40],
  ['PROMISC', 0x100],
  ['SIMPLEX', 0x800],
  ['MULTICAST', 0x8000],
  ['PPROMISC', 0x20000],
  ['LOWER_UP', 0x1000000],
];
export function isUp(link: LinuxLink): boolean {
  return link.flags.includes('UP');
}

/**
 * A vxlan interface is RUNNING once vxlan_init opened its socket (sys/net/if_vxlan.c); the
 * emulator has a Linux vxlan device behind it then, and an ifb before (ifconfig/vxlan.ts).
 */
export function vxlanRunning(link: LinuxLink): boolean {
  return link.linkinfo?.info_kind === 'vxlan' && isUp(link);
}

/**
 * The flags of the 14.x listing (ifconfig_netlink.c prints every set bit by name): an epair is
 * RUNNING and LOWER_UP from its creation, up or not (if_epair.c sets IFF_DRV_RUNNING and the
 * link state when it creates the pair); a loopback is RUNNING and LOWER_UP only while up. 14.x
 * epairs do not set bit 0x20 (IFF_NEEDSEPOCH).
 */
export function ifFlags(link: LinuxLink, meta: IfMeta = metaOf(link)): { value: number; names: string[] } {
  const f = new Set(link.flags);
  const on = new Set<string>();
  const up = f.has('UP');
  if (up) on.add('UP');
  // vxlan_init sets IFF_DRV_RUNNING and the link state up, vxlan_teardown clears both.
  if (up && (meta.kind !== 'vxlan' || vxlanRunning(link))) on.add('RUNNING');
  if (meta.kind === 'vxlan') {
    on.add('BROADCAST').add('SIMPLEX').add('MULTICAST');
    if (vxlanRunning(link)) on.add('LOWER_UP');
  } else if (meta.kind === 'lo') {
    on.add('LOOPBACK').add('MULTICAST');
    if (up) on.add('LOWER_UP');
  } else {
    on.add('BROADCAST').add('SIMPLEX').add('MULTICAST');
    if (meta.kind === 'epair') on.add('RUNNING');
    if (meta.kind === 'epair' || f.has('LOWER_UP')) on.add('LOWER_UP');
  }
  if (f.has('PROMISC')) on.add('PPROMISC').add('PROMISC');
  if ((link.promiscuity ?? 0) > 0) on.add('PROMISC');
  let value = 0;
  const names: string[] = [];
  for (const [n, bit] of IFF) {
    if (on.has(n)) {
      value |= bit;
      names.push(n);
    }
  }
  return { value, names };
}

const ND6: [string, number][] = [
  ['PERFORMNUD', 0x1],
  ['ACCEPT_RTADV', 0x2],
  ['PREFER_SOURCE', 0x4],
  ['IFDISABLED', 0x8],
  ['DONT_SET_IFROUTE', 0x10],
  ['AUTO_LINKLOCAL', 0x20],
];

/** ND6 flags as FreeBSD keeps them: bridges have no AUTO_LINKLOCAL; new interfaces are IFDISABLED. */
export function nd6Flags(meta: IfMeta): number {
  let v = 0x1;
  if (meta.acceptRtadv) v |= 0x2;
  if (meta.kind !== 'bridge') v |= 0x20;
  if (meta.ifdisabled && meta.kind !== 'lo') v |= 0x8;
  return v;
}

export function hasAutoLinklocal(meta: IfMeta): boolean {
  return (nd6Flags(meta) & 0x20) !== 0;
}

function bits(value: number, table: [string, number][]): string {
  return table.filter(([, b]) => value & b).map(([n]) => n).join(',');
}

export function prefixToMask(p: number): number {
  return p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
}

function dotted(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

export function ipv4ToInt(a: string): number {
  return a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) >>> 0;
}

export function broadcastOf(addr: string, prefix: number): string {
  return dotted((ipv4ToInt(addr) | (~prefixToMask(prefix) >>> 0)) >>> 0);
}

/** The address as print_addr shows it: a name under addr:fqdn/host (the first label for host: libc getnameinfo's NI_NOFQDN), else the number. */
function shownAddress(address: string, opts: FormatOptions): string {
  const name = opts.addr ? opts.hostNames?.get(address) : undefined;
  if (!name) return address;
  return opts.addr === 'host' ? (name.split('.')[0] as string) : name;
}

function inetLine(a: AddrInfo, meta: IfMeta, opts: FormatOptions): string {
  const bcast = meta.kind === 'lo' ? '' : ` broadcast ${a.broadcast ?? broadcastOf(a.local, a.prefixlen)}`;
  const local = shownAddress(a.local, opts);
  if (opts.inet === 'cidr') return `\tinet ${local}/${a.prefixlen}${bcast}`;
  const mask = prefixToMask(a.prefixlen);
  // af_inet.c in_status_nl: " netmask 0x%lx", no leading zeros.
  const shown = opts.inet === 'dotted' ? dotted(mask) : `0x${mask.toString(16)}`;
  return `\tinet ${local} netmask ${shown}${bcast}`;
}

function inet6Line(a: AddrInfo, name: string, ifindex: number, opts: FormatOptions): string {
  const ll = a.local.toLowerCase().startsWith('fe80:');
  const addr = ll ? `${a.local}%${name}` : shownAddress(a.local, opts);
  const flags = `${a.tentative ? ' tentative' : ''}${a.deprecated ? ' deprecated' : ''}`;
  if (opts.inet6 === 'cidr') return `\tinet6 ${addr}/${a.prefixlen}${flags}${ll ? ` scopeid 0x${ifindex.toString(16)}` : ''}`;
  return `\tinet6 ${addr} prefixlen ${a.prefixlen}${flags}${ll ? ` scopeid 0x${ifindex.toString(16)}` : ''}`;
}

const MEMBER_BITS: [string, number][] = [
  ['LEARNING', 0x1],
  ['DISCOVER', 0x2],
  ['STP', 0x4],
  ['SPAN', 0x8],
  ['STICKY', 0x10],
  ['EDGE', 0x20],
  ['AUTOEDGE', 0x40],
  ['PTP', 0x80],
  ['AUTOPTP', 0x100],
  ['ADMEDGE', 0x200],
  ['ADMCOST', 0x400],
  ['PRIVATE', 0x800],
];

export function memberFlags(port: LinuxLink): number {
  const sd = port.linkinfo?.info_slave_data ?? {};
  let v = 0x2 | 0x40 | 0x100;
  if (sd['learning'] !== false) v |= 0x1;
  if (sd['isolated'] === true) v |= 0x800;
  return v;
}

/**
 * bridgestp.c bstp_calc_path_cost: 20000000000 / (baudrate / 1000); an interface without a
 * baudrate (vxlan's if_baudrate is 0) gets BSTP_DEFAULT_PATH_COST, 55.
 */
function pathCost(meta: IfMeta): number {
  if (meta.kind === 'epair') return 2000;
  if (meta.kind === 'vxlan') return 55;
  return 20000;
}

/**
 * Bridge members newest first: if_bridge.c inserts a member at the head of its list, and
 * bridge_status prints the list in order. Linux numbers the ports of a bridge as they join
 * (the lowest free number), so the highest number is taken as the newest.
 */
function newestFirst(a: LinuxLink, b: LinuxLink): number {
  const no = (l: LinuxLink) => Number.parseInt(String(l.linkinfo?.info_slave_data?.['no'] ?? '0'), 16) || 0;
  return no(b) - no(a);
}

/**
 * The status block of one interface, as `ifconfig IF` prints it: the line order of
 * ifconfig_netlink.c status_nl() and of the af_other_status handlers (bridge, groups, media,
 * nd6: sbin/ifconfig/Makefile's constructor order).
 */
export function formatStatus(link: LinuxLink, all: readonly LinuxLink[], opts: FormatOptions = {}): string {
  const meta = metaOf(link);
  const name = toFreeBSD(link.ifname);
  const flags = ifFlags(link, meta);
  const lines = [`${name}: flags=${flags.value.toString(16)}<${flags.names.join(',')}> metric 0 mtu ${link.mtu}`];
  if (meta.description) lines.push(`\tdescription: ${meta.description}`);
  // 14.x prints options= for every interface, "options=0" when none are on (print_ifcap).
  if (meta.kind === 'epair') lines.push('\toptions=8<VLAN_MTU>');
  else if (meta.kind === 'bridge') lines.push('\toptions=0');
  // if_vxlan.c VXLAN_BASIC_IFCAPS (no offloads: em0 has no VXLAN_HWCSUM to inherit).
  else if (meta.kind === 'vxlan') lines.push('\toptions=80020<JUMBO_MTU,LINKSTATE>');
  else if (meta.kind === 'lo') lines.push('\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>');
  else if (meta.kind === 'ether') lines.push('\toptions=481009b<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,VLAN_HWCSUM,VLAN_HWFILTER,NOMAP>');
  const fam = opts.family;
  if (meta.kind !== 'lo' && link.address && (!fam || fam === 'link')) {
    lines.push(`\tether ${opts.ether === 'dash' ? link.address.replace(/:/g, '-') : link.address}`);
  }
  const addrs = link.addr_info ?? [];
  if (!fam || fam === 'inet') for (const a of addrs.filter((x) => x.family === 'inet')) lines.push(inetLine(a, meta, opts));
  if (!fam || fam === 'inet6') for (const a of addrs.filter((x) => x.family === 'inet6')) lines.push(inet6Line(a, name, link.ifindex, opts));
  if (meta.kind === 'bridge' && !fam) {
    // The STP bridge and root ids stay zero while no member runs STP (the emulator has no STP);
    // ether_ntoa(3) of FreeBSD prints "%02x" per byte.
    const id = '00:00:00:00:00:00';
    lines.push(`\tid ${id} priority 32768 hellotime 2 fwddelay 15`);
    lines.push('\tmaxage 20 holdcnt 6 proto rstp maxaddr 2000 timeout 1200');
    lines.push(`\troot id ${id} priority 32768 ifcost 0 port 0`);
    for (const port of all.filter((l) => l.master === link.ifname).sort(newestFirst)) {
      const mf = memberFlags(port);
      lines.push(`\tmember: ${toFreeBSD(port.ifname)} flags=${mf.toString(16)}<${bits(mf, MEMBER_BITS)}>`);
      lines.push(`\t        ifmaxaddr 0 port ${port.ifindex} priority 128 path cost ${pathCost(metaOf(port))}`);
    }
  }
  if (meta.groups.length && !fam) lines.push(`\tgroups: ${meta.groups.join(' ')}`);
  const vxlanLine = !fam && meta.vxlan ? vxlanStatusLine(meta.vxlan) : undefined;
  if (vxlanLine) lines.push(`\t${vxlanLine}`);
  if (!fam && meta.kind === 'vxlan') {
    // vxlan_media_status: IFM_ETHER | IFM_FDX active, always IFM_ACTIVE.
    lines.push('\tmedia: Ethernet autoselect (autoselect <full-duplex>)');
    lines.push('\tstatus: active');
  } else if (!fam && meta.kind === 'epair') {
    lines.push('\tmedia: Ethernet 10Gbase-T (10Gbase-T <full-duplex>)');
    lines.push('\tstatus: active');
  } else if (!fam && meta.kind === 'ether') {
    lines.push('\tmedia: Ethernet autoselect (1000baseT <full-duplex>)');
    lines.push(`\tstatus: ${link.flags.includes('LOWER_UP') ? 'active' : 'no carrier'}`);
  }
  if (!fam || fam === 'inet6') {
    const nd = nd6Flags(meta);
    lines.push(`\tnd6 options=${nd.toString(16)}<${bits(nd, ND6)}>`);
  }
  return `${lines.join('\n')}\n`;
}
