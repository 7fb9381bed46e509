import { ToolError, type EmuContext, type ToolIo } from './context';
import { run } from './exec';
import { getopt } from './getopt';
import { toFreeBSD } from './ifconfig/names';
import { vnetOf, type Vnet } from './jails';
import { IP, readLinks, type LinuxLink } from './netns';

/**
 * netstat(1) -r: the routing tables, in the layout of usr.bin/netstat/route.c (pr_family,
 * pr_rthdr, the column widths) and route_netlink.c (p_rtentry_netlink, p_path) of FreeBSD 14:
 * one line per path, so each path of a multipath route is a line of its own with the same
 * destination; an interface route's gateway is `link#IFINDEX`; a local address is a host route
 * on lo0. Built from the vnet's Linux main and local tables. Only -r is emulated.
 */

const USAGE = `usage: netstat [-j jail] -r [-46AnW] [-F fibnum] [-f address_family]
               [-M core] [-N system]`;

type Family = 4 | 6;

interface IpPath {
  gateway?: string;
  dev?: string;
}

interface IpRoute extends IpPath {
  dst: string;
  type?: string;
  protocol?: string;
  expires?: number;
  nexthops?: IpPath[];
}

export interface NetstatEntry {
  family: Family;
  /** The destination as netstat prints it: "default", "10.0.0.0/24", "fe80::%em0/64", "10.0.0.1". */
  destination: string;
  gateway: string;
  flags: string;
  netif: string;
  mtu: number;
  expire?: number;
  /** Sort key: the address with the scope embedded as KAME does, then the prefix length. */
  key: bigint;
  prefix: number;
}

/** rt flag letters in the order of route.c's bits[] table. */
const FLAG_ORDER = 'UGHRDMdXS123Bb';

function flagText(letters: Iterable<string>): string {
  const set = new Set(letters);
  return [...FLAG_ORDER].filter((c) => set.has(c)).join('');
}

function v6Value(a: string): bigint {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((v, g) => (v << 16n) | BigInt(Number.parseInt(g || '0', 16)), 0n);
}

function v4Value(a: string): bigint {
  return BigInt(a.split('.').reduce((v, o) => v * 256 + Number(o), 0));
}

function isLinkLocal6(a: string): boolean {
  return /^fe[89ab]/i.test(a);
}

/** The address with the KAME-embedded scope (bytes 2-3 = ifindex) that orders FreeBSD's radix tree. */
function sortKey(family: Family, addr: string, scope: number): bigint {
  if (family === 4) return v4Value(addr);
  const v = v6Value(addr);
  return isLinkLocal6(addr) ? v | (BigInt(scope) << 96n) : v;
}

async function ipRoutes(ns: string, family: Family, table: 'main' | 'local'): Promise<IpRoute[]> {
  const r = await run(IP, ['-n', ns, '-j', family === 6 ? '-6' : '-4', 'route', 'show', 'table', table]);
  return r.code === 0 ? (JSON.parse(r.stdout || '[]') as IpRoute[]) : [];
}

/** The vnet's routing table in netstat's terms, both families, sorted as FreeBSD lists them. */
export async function routeEntries(vnet: Vnet): Promise<NetstatEntry[]> {
  const links = await readLinks(vnet.ns);
  const byName = new Map(links.map((l) => [l.ifname, l]));
  const out: NetstatEntry[] = [];
  const link = (dev: string | undefined): LinuxLink | undefined => (dev ? byName.get(dev) : undefined);
  const linkGw = (l: LinuxLink | undefined) => `link#${l?.ifindex ?? 0}`;
  for (const family of [4, 6] as const) {
    const max = family === 4 ? 32 : 128;
    for (const r of await ipRoutes(vnet.ns, family, 'main')) {
      if (r.type !== undefined && !['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(r.type)) continue;
      const [addr, plen] = r.dst === 'default' ? [family === 4 ? '0.0.0.0' : '::', 0] : [r.dst.split('/')[0] as string, Number(r.dst.split('/')[1] ?? max)];
      // route(8)'s routes are RTF_STATIC; connected (kernel) and RA-learnt routes are not.
      const isStatic = r.protocol === undefined || r.protocol === 'boot' || r.protocol === 'static';
      for (const p of r.nexthops ?? [{ ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.dev ? { dev: r.dev } : {}) }]) {
        const l = link(p.dev);
        const scoped = family === 6 && isLinkLocal6(addr) && l;
        const letters = ['U'];
        if (p.gateway) letters.push('G');
        if (plen === max) letters.push('H');
        if (r.type === 'unreachable' || r.type === 'prohibit') letters.push('R');
        if (r.type === 'blackhole') letters.push('B');
        if (isStatic) letters.push('S');
        const dst = r.dst === 'default' ? 'default' : `${addr}${scoped ? `%${toFreeBSD(l.ifname)}` : ''}${plen === max ? '' : `/${plen}`}`;
        const gw = p.gateway ? `${p.gateway}${family === 6 && isLinkLocal6(p.gateway) && l ? `%${toFreeBSD(l.ifname)}` : ''}` : linkGw(l);
        const e: NetstatEntry = { family, destination: dst, gateway: gw, flags: flagText(letters), netif: l ? toFreeBSD(l.ifname) : 'lo0', mtu: l?.mtu ?? 1500, key: sortKey(family, addr, l?.ifindex ?? 0), prefix: plen };
        if (r.expires !== undefined && r.expires > 0) e.expire = r.expires;
        out.push(e);
      }
    }
    // Local addresses: FreeBSD's loopback routes (ifa_maintain_loopback_route), host routes
    // through lo0 whose gateway names the address's interface; lo0's own address is UH.
    const lo = byName.get('lo');
    for (const r of await ipRoutes(vnet.ns, family, 'local')) {
      if (r.type !== 'local' || r.dst.includes('/')) continue;
      const l = link(r.dev);
      const own = r.dev === 'lo';
      const scoped = family === 6 && isLinkLocal6(r.dst) && l;
      out.push({
        family,
        destination: `${r.dst}${scoped ? `%${toFreeBSD(l.ifname)}` : ''}`,
        gateway: linkGw(l),
        flags: own && family === 4 ? 'UH' : 'UHS',
        netif: 'lo0',
        mtu: lo?.mtu ?? 16384,
        key: sortKey(family, r.dst, l?.ifindex ?? 0),
        prefix: family === 4 ? 32 : 128,
      });
    }
    // The reject routes every FreeBSD vnet has once lo0 has ::1 (sys/netinet6/in6_ifattach.c,
    // in6_ifattach_loopback / nd6: ::/96, ::ffff:0.0.0.0/96, fe80::/10, ff02::/16 through ::1).
    if (family === 6 && (lo?.addr_info ?? []).some((a) => a.local === '::1')) {
      for (const [addr, plen] of [['::', 96], ['::ffff:0.0.0.0', 96], ['fe80::', 10], ['ff02::', 16]] as const) {
        const key = addr === '::ffff:0.0.0.0' ? 0xffffn << 32n : v6Value(addr);
        out.push({ family, destination: `${addr}/${plen}`, gateway: '::1', flags: 'UGRS', netif: 'lo0', mtu: lo?.mtu ?? 16384, key, prefix: plen });
      }
    }
  }
  // Radix order: by address; of two equal keys the longer mask first (the duplicate-key chain).
  return out.sort((a, b) => a.family - b.family || (a.key < b.key ? -1 : a.key > b.key ? 1 : b.prefix - a.prefix));
}

interface Widths {
  dst: number;
  gw: number;
  flags: number;
  mtu: number;
  iface: number;
  expire: number;
}

/** route.c's WID_*_DEFAULT and set_wid. */
function widths(family: Family, numeric: boolean, wide: boolean): Widths {
  return {
    dst: family === 6 && numeric ? 33 : 18,
    gw: family === 6 && numeric ? 29 : 18,
    flags: 6,
    mtu: 6,
    iface: family === 6 ? 8 : wide ? 10 : 8,
    expire: 6,
  };
}

function left(text: string, width: number, truncate: boolean): string {
  const t = truncate ? text.slice(0, Math.max(width, 0)) : text;
  return t.padEnd(Math.max(width, 0));
}

function right(text: string, width: number, truncate: boolean): string {
  const t = truncate ? text.slice(0, width) : text;
  return t.padStart(width);
}

function header(w: Widths, wide: boolean): string {
  const cols = [left('Destination', w.dst, true), left('Gateway', w.gw, true), left('Flags', w.flags, true)];
  if (wide) cols.push(right('Nhop#', w.mtu, true), right('Mtu', w.mtu, true));
  cols.push(right('Netif', w.iface, true), 'Expire'.padStart(w.expire));
  return cols.join(' ');
}

/** p_path: each column padded to its width, a wider value pushing the next ones right (protrusion). */
function line(e: NetstatEntry, w: Widths, numeric: boolean, wide: boolean, nhop: number): string {
  const exact = numeric || wide;
  const column = (text: string, width: number) => {
    const protrusion = exact ? Math.max(0, text.length - width) : 0;
    return { text: `${left(text, width, !exact)} `, protrusion };
  };
  const dst = column(e.destination, w.dst);
  const gw = column(e.gateway, w.gw - dst.protrusion);
  let out = dst.text + gw.text;
  const protrusion = gw.protrusion;
  out += `${left(e.flags, w.flags - protrusion, false)} `;
  if (wide) out += `${String(nhop).padStart(w.mtu)} ${String(e.mtu).padStart(w.mtu)} `;
  out += wide ? e.netif.padStart(w.iface) : right(e.netif, w.iface, true);
  if (e.expire !== undefined) out += ` ${String(e.expire).padStart(w.expire)}`;
  return out;
}

export async function netstatMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  // netstat's option letters of FreeBSD 14 (main.c), -j included.
  const { opts } = getopt('netstat', argv, '46AaBbCcdF:f:ghI:ij:LlM:mN:nOoPp:Qq:RrSsTuWw:xz', USAGE);
  const has = (o: string) => opts.some((x) => x.opt === o);
  if (!has('r')) throw new ToolError('only the routing tables (netstat -r) are emulated');
  const fib = opts.find((o) => o.opt === 'F')?.arg;
  if (fib !== undefined && fib !== '0') throw new ToolError(`${fib}: invalid fib`, 64);
  let families: Family[] = [4, 6];
  const f = opts.find((o) => o.opt === 'f')?.arg;
  if (f !== undefined) {
    if (f === 'inet') families = [4];
    else if (f === 'inet6') families = [6];
    else throw new ToolError(`${f}: unknown address family`);
  }
  if (has('4')) families = [4];
  if (has('6')) families = [6];
  const numeric = has('n');
  const wide = has('W');
  const vnet = vnetOf(ctx, opts.find((o) => o.opt === 'j')?.arg);
  const entries = (await routeEntries(vnet)).filter((e) => families.includes(e.family));
  const lines = ['Routing tables'];
  for (const family of families) {
    const mine = entries.filter((e) => e.family === family);
    if (mine.length === 0) continue;
    const w = widths(family, numeric, wide);
    lines.push('', `${family === 4 ? 'Internet' : 'Internet6'}:`, header(w, wide));
    mine.forEach((e, i) => lines.push(line(e, w, numeric, wide, i + 1)));
  }
  io.out(`${lines.join('\n')}\n`);
  return 0;
}
