import { isIPv4, isIPv6 } from 'node:net';
import { ToolError, type EmuContext, type ToolIo } from './context';
import { run, runOk } from './exec';
import { getopt, UsageError } from './getopt';
import { vnetOf, type Vnet } from './jails';
import { IP, readLinks } from './netns';
import { stateSysctl } from './sysctl';
import { toFreeBSD, toLinux } from './ifconfig/names';
import { classfulPrefix, sameInet6 } from './ifconfig/addresses';
import { prefixToMask } from './ifconfig/format';

/** route(8): add, delete, change, get/show, flush, for IPv4 and IPv6, on the host or with -j. */

const USAGE = 'usage: route [-j jail] [-46dnqtv] command [[modifiers] args]';
const EX_USAGE = 64;
const EX_NOHOST = 68;

type Family = 4 | 6;

interface Spec {
  cmd: string;
  family?: Family;
  forceHost: boolean;
  forceNet: boolean;
  iface: boolean;
  dest?: string;
  gateway?: string;
  netmask?: string;
  prefixlen?: number;
  blackhole: boolean;
  reject: boolean;
  mtu?: number;
}

const ARG_KEYWORDS = new Set(['netmask', 'prefixlen', 'gateway', 'dst', 'ifp', 'ifa', 'genmask', 'mtu', 'hopcount', 'expire', 'recvpipe', 'sendpipe', 'ssthresh', 'rtt', 'rttvar', 'weight', 'fib']);
const FLAG_KEYWORDS = new Set(['link', 'sa', 'xresolve', 'nostatic', 'static', 'llinfo', 'lock', 'lockrest', 'proto1', 'proto2', 'proto3', 'cloning', 'xns', 'osi', 'x25']);

function usage(bad?: string): never {
  throw new UsageError(`${bad ? `route: bad keyword: ${bad}\n` : ''}${USAGE}`, EX_USAGE);
}

function parseArgs(words: string[], family?: Family): Spec {
  const s: Spec = { cmd: words[0] as string, forceHost: false, forceNet: false, iface: false, blackhole: false, reject: false };
  if (family) s.family = family;
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    if (w.startsWith('-') && w.length > 1) {
      const k = w.slice(1);
      const arg = () => {
        const v = words[++i];
        if (v === undefined) usage(k);
        return v;
      };
      switch (k) {
        case 'net':
          s.forceNet = true;
          break;
        case 'host':
          s.forceHost = true;
          break;
        case 'inet':
          s.family = 4;
          break;
        case 'inet6':
          s.family = 6;
          break;
        case 'interface':
        case 'iface':
          s.iface = true;
          break;
        case 'blackhole':
          s.blackhole = true;
          break;
        case 'reject':
          s.reject = true;
          break;
        case 'netmask':
          s.netmask = arg();
          s.forceNet = true;
          break;
        case 'prefixlen':
          s.prefixlen = Number(arg());
          s.forceNet = true;
          break;
        case 'gateway':
          s.gateway = arg();
          break;
        case 'dst':
          s.dest = arg();
          break;
        case 'mtu':
          s.mtu = Number(arg());
          break;
        default:
          if (ARG_KEYWORDS.has(k)) arg();
          else if (!FLAG_KEYWORDS.has(k)) usage(k);
      }
      continue;
    }
    if (s.dest === undefined) s.dest = w;
    else if (s.gateway === undefined) s.gateway = w;
    else s.netmask = w;
  }
  return s;
}

interface Target {
  family: Family;
  /** Linux prefix, "0.0.0.0/0" etc. */
  prefix: string;
  isHost: boolean;
}

function target(s: Spec): Target {
  const dest = s.dest as string;
  let family: Family = s.family ?? (dest.includes(':') ? 6 : 4);
  if (dest === 'default') return { family, prefix: family === 6 ? '::/0' : '0.0.0.0/0', isHost: false };
  let [addr, plen] = dest.split('/') as [string, string | undefined];
  addr = addr.split('%')[0] as string;
  if (addr.includes(':')) family = 6;
  const valid = family === 6 ? isIPv6(addr) : isIPv4(addr) || /^\d+(\.\d+){0,2}$/.test(addr);
  if (!valid) throw new ToolError(`bad address: ${dest}`, EX_NOHOST);
  if (family === 4 && !isIPv4(addr)) addr = [...addr.split('.'), '0', '0', '0'].slice(0, 4).join('.');
  let prefix: number | undefined = plen !== undefined ? Number(plen) : s.prefixlen;
  if (prefix === undefined && s.netmask !== undefined && family === 4) {
    const n = s.netmask.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    prefix = 0;
    while (prefix < 32 && ((n >>> (31 - prefix)) & 1) === 1) prefix++;
  }
  const max = family === 6 ? 128 : 32;
  if (prefix === undefined) prefix = s.forceNet && !s.forceHost ? (family === 6 ? 64 : classfulPrefix(addr)) : max;
  if (s.forceHost) prefix = max;
  return { family, prefix: `${addr}/${prefix}`, isHost: prefix === max };
}

function fam(f: Family): string[] {
  return f === 6 ? ['-6'] : ['-4'];
}

export async function routeMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  const { opts, rest } = getopt('route', argv, '46dnqtvj:F:', USAGE, EX_USAGE);
  let family: Family | undefined;
  let quiet = false;
  let numeric = false;
  let jail: string | undefined;
  for (const o of opts) {
    if (o.opt === '4') family = 4;
    if (o.opt === '6') family = 6;
    if (o.opt === 'q') quiet = true;
    if (o.opt === 'n') numeric = true;
    if (o.opt === 'j') jail = o.arg;
  }
  const vnet = vnetOf(ctx, jail, 'route');
  if (rest.length === 0) usage();
  const cmd = rest[0] as string;
  switch (cmd) {
    case 'add':
    case 'delete':
    case 'change':
      return modify(ctx, vnet, parseArgs(rest, family), quiet, io);
    case 'get':
    case 'show':
      return get(vnet, parseArgs(rest, family), numeric, io);
    case 'flush':
      return flush(vnet, rest, family, quiet, io);
    case 'monitor':
      throw new ToolError('monitor: not supported by the emulated host');
    default:
      usage(cmd);
  }
}

async function modify(ctx: EmuContext, vnet: Vnet, s: Spec, quiet: boolean, io: ToolIo): Promise<number> {
  if (s.dest === undefined) usage();
  const t = target(s);
  const kind = t.isHost ? 'host' : 'net';
  const head = `${s.cmd} ${kind} ${s.dest}${s.gateway !== undefined ? `: gateway ${s.gateway}` : ''}`;
  // route.c newroute(): a failed fib adds " fib %d" (the default fib, 0 here) before the reason.
  const fail = (msg: string, warn?: string): number => {
    if (warn) io.err(`route: ${warn}\n`);
    if (!quiet) io.out(`${head} fib 0: ${msg}\n`);
    return 1;
  };
  if (vnet.jail && !vnet.jail.vnet) return fail('Operation not permitted', 'writing to routing socket: Operation not permitted');
  const verb = s.cmd === 'add' ? 'add' : s.cmd === 'delete' ? 'del' : 'change';
  const args = [...fam(t.family), 'route', verb];
  if (s.blackhole) args.push('blackhole');
  else if (s.reject) args.push('unreachable');
  args.push(t.prefix);
  if (!s.blackhole && !s.reject && s.gateway !== undefined) {
    const gw = s.gateway;
    const [gaddr, scope] = gw.split('%') as [string, string | undefined];
    const looksAddr = t.family === 6 ? isIPv6(gaddr) : isIPv4(gaddr);
    if (s.iface || !looksAddr) {
      // -interface IF (or a gateway that names an interface): a directly attached route.
      let dev = gw;
      if (looksAddr) {
        const owner = (await readLinks(vnet.ns)).find((l) => (l.addr_info ?? []).some((a) => a.local === gaddr));
        if (!owner) return fail('Network is unreachable', 'writing to routing socket: Network is unreachable');
        dev = owner.ifname;
      } else if (!(await readLinks(vnet.ns)).some((l) => l.ifname === toLinux(gw))) {
        throw new ToolError(`bad address: ${gw}`, EX_NOHOST);
      }
      args.push('dev', toLinux(dev));
    } else {
      args.push('via', gaddr);
      if (scope) args.push('dev', toLinux(scope));
    }
  } else if (verb !== 'del' && !s.blackhole && !s.reject) {
    return fail('Invalid argument', 'writing to routing socket: Invalid argument');
  }
  if (s.mtu !== undefined && verb !== 'del') args.push('mtu', String(s.mtu));
  if ((verb === 'add' || verb === 'del') && !s.blackhole && !s.reject && !s.iface && s.gateway !== undefined) {
    const outcome = await multipath(ctx, vnet, t, verb, s.gateway, s.mtu);
    if (outcome === 'exists') return fail('route already in table');
    if (outcome === 'missing') return fail('not in table');
    if (outcome === 'unreachable') return fail('Network is unreachable', 'writing to routing socket: Network is unreachable');
    if (outcome === 'done') {
      if (!quiet) io.out(`${head}\n`);
      return 0;
    }
  }
  const r = await run(IP, ['-n', vnet.ns, ...args]);
  if (r.code === 0) {
    if (!quiet) io.out(`${head}\n`);
    return 0;
  }
  const e = r.stderr.toLowerCase();
  if (e.includes('file exists')) return fail('route already in table');
  // route_netlink.c's rtmsg_nl returns ESRCH and route.c prints "not in table" on stdout only.
  if (e.includes('no such process') || e.includes('no such file or directory')) return fail('not in table');
  if (e.includes('unreachable') || e.includes('invalid gateway') || e.includes('nexthop')) return fail('Network is unreachable', 'writing to routing socket: Network is unreachable');
  if (e.includes('cannot find device')) throw new ToolError(`bad address: ${s.gateway ?? ''}`, EX_NOHOST);
  return fail('Invalid argument', 'writing to routing socket: Invalid argument');
}

interface IpNexthop {
  gateway?: string;
  dev?: string;
  weight?: number;
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  type?: string;
  flags?: string[];
  prefsrc?: string;
  protocol?: string;
  metric?: number;
  expires?: number;
  /** A multipath (ECMP) route's paths. */
  nexthops?: IpNexthop[];
}

/** The paths of a route: its nexthops, or its one gateway/interface. */
function pathsOf(r: IpRoute): IpNexthop[] {
  if (r.nexthops) return r.nexthops;
  const hop: IpNexthop = {};
  if (r.gateway) hop.gateway = r.gateway;
  if (r.dev) hop.dev = r.dev;
  return [hop];
}

function sameAddress(a: string | undefined, b: string): boolean {
  return a !== undefined && (isIPv6(b) ? sameInet6(a, b) : a === b);
}

function nexthopWords(hops: readonly IpNexthop[]): string[] {
  if (hops.length === 1) {
    const h = hops[0] as IpNexthop;
    return [...(h.gateway ? ['via', h.gateway] : []), ...(h.dev ? ['dev', h.dev] : [])];
  }
  return hops.flatMap((h) => ['nexthop', ...(h.gateway ? ['via', h.gateway] : []), ...(h.dev ? ['dev', h.dev] : [])]);
}

/**
 * `route add` of a gateway route where the prefix already has one, and `route delete` of one
 * path, as sys/net/route/route_ctl.c does them. route(8) adds in append mode (14.x:
 * NLM_F_CREATE | NLM_F_APPEND, sbin/route/route_netlink.c; 13.x rtsock likewise), so with
 * net.route.multipath=1 (the default) a second gateway joins the route as another path of a
 * multipath (ECMP) route; the same gateway again, an interface route, or multipath=0 is EEXIST
 * ("route already in table"). `route delete PREFIX GW` removes that path only. Linux keeps
 * such a route as one route with `nexthop` entries. Returns 'pass' when there is nothing
 * special to do (no route yet for add; a single-path route for delete).
 */
async function multipath(ctx: EmuContext, vnet: Vnet, t: Target, verb: 'add' | 'del', gateway: string, mtu?: number): Promise<'pass' | 'done' | 'exists' | 'missing' | 'unreachable'> {
  const [gaddr, scope] = gateway.split('%') as [string, string | undefined];
  const existing = (await ipJson(vnet.ns, [...fam(t.family), 'route', 'show', 'exact', t.prefix])).routes.find((r) => r.type === undefined || r.type === 'unicast');
  if (!existing) return 'pass';
  const paths = pathsOf(existing);
  const mine = paths.filter((h) => sameAddress(h.gateway, gaddr) && (scope === undefined || h.dev === toLinux(scope)));
  if (verb === 'del') {
    if (paths.length < 2) return 'pass';
    if (mine.length === 0) return 'missing';
    const rest = paths.filter((h) => !mine.includes(h));
    await runOk(IP, ['-n', vnet.ns, ...fam(t.family), 'route', 'replace', t.prefix, ...nexthopWords(rest), ...metricWords(existing)]);
    return 'done';
  }
  if (mine.length > 0) return 'exists';
  // nhop_can_multipath: only gateway routes take more paths.
  const multipathOn = stateSysctl(ctx, vnet, 'net.route.multipath') !== '0';
  if (!multipathOn || paths.some((h) => !h.gateway)) return 'exists';
  let dev = scope !== undefined ? toLinux(scope) : undefined;
  if (dev === undefined) {
    const via = (await ipJson(vnet.ns, [...fam(t.family), 'route', 'get', gaddr])).routes[0];
    if (!via?.dev || via.type === 'unreachable' || via.gateway) return 'unreachable';
    dev = via.dev;
  }
  const hops = [...paths, { gateway: gaddr, dev }];
  await runOk(IP, ['-n', vnet.ns, ...fam(t.family), 'route', 'replace', t.prefix, ...nexthopWords(hops), ...metricWords(existing), ...(mtu !== undefined ? ['mtu', String(mtu)] : [])]);
  return 'done';
}

function metricWords(r: IpRoute): string[] {
  return r.metric !== undefined ? ['metric', String(r.metric)] : [];
}

function maskText(family: Family, prefix: number): string {
  if (family === 4) {
    const m = prefixToMask(prefix);
    return [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join('.');
  }
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bitsHere = Math.max(0, Math.min(16, prefix - i * 16));
    groups.push(((0xffff << (16 - bitsHere)) & 0xffff).toString(16));
  }
  return groups.join(':').replace(/(^|:)0(:0)+$/, '::').replace(/:::$/, '::');
}

async function ipJson(ns: string, args: string[]): Promise<{ ok: boolean; routes: IpRoute[] }> {
  const r = await run(IP, ['-n', ns, '-j', ...args]);
  if (r.code !== 0) return { ok: false, routes: [] };
  return { ok: true, routes: JSON.parse(r.stdout || '[]') as IpRoute[] };
}

async function get(vnet: Vnet, s: Spec, numeric: boolean, io: ToolIo): Promise<number> {
  if (s.dest === undefined) usage();
  const t = target(s);
  // route.c routename(): the zero address is "default" unless -n asks for numbers.
  const zero = numeric ? (t.family === 6 ? '::' : '0.0.0.0') : 'default';
  const notFound = () => {
    io.err('route: route has not been found\n');
    return 1;
  };
  let route: IpRoute | undefined;
  let destination: string;
  let mask: string | undefined;
  let routeTo = s.dest;
  if (s.dest === 'default') {
    route = (await ipJson(vnet.ns, [...fam(t.family), 'route', 'show', 'default'])).routes[0];
    if (!route) return notFound();
    routeTo = zero;
    destination = zero;
    mask = zero;
  } else {
    const addr = t.prefix.split('/')[0] as string;
    routeTo = addr;
    const got = await ipJson(vnet.ns, [...fam(t.family), 'route', 'get', addr]);
    route = got.routes[0];
    if (!got.ok || !route || route.type === 'unreachable' || route.type === 'blackhole') return notFound();
    if (route.type === 'local') {
      destination = addr;
    } else {
      // The matching table entry: the longest prefix in the main table that contains addr.
      const all = (await ipJson(vnet.ns, [...fam(t.family), 'route', 'show', 'match', addr])).routes;
      const best = all
        .map((r) => ({ r, p: r.dst === 'default' ? 0 : Number(r.dst.split('/')[1] ?? (t.family === 6 ? 128 : 32)) }))
        .sort((a, b) => b.p - a.p)[0];
      if (!best) return notFound();
      // A path of a multipath route: the one Linux chose for this address.
      const chosen = best.r.nexthops && route.gateway ? { gateway: route.gateway } : {};
      route = { ...best.r, ...(route.dev ? { dev: route.dev } : {}), ...chosen };
      delete route.nexthops;
      if (best.r.dst === 'default') {
        destination = zero;
        mask = zero;
      } else {
        destination = best.r.dst.split('/')[0] as string;
        if (best.p < (t.family === 6 ? 128 : 32)) mask = maskText(t.family, best.p);
      }
    }
  }
  // A multipath route (net.route.multipath): route_netlink.c's print_getmsg prints `gateway:`
  // only for RTA_GATEWAY, which a multipath answer lacks (its paths are in RTA_MULTIPATH), and
  // looks up the interface of RTA_OIF, also absent: ifindex 0, which the kernel answers with
  // its list of interfaces, so the first interface is named. The emulator names the vnet's
  // first interface (lo0). Callers must not take it for the egress interface.
  const ecmp = route.nexthops !== undefined;
  const flags = ['UP'];
  if (route.gateway || ecmp) flags.push('GATEWAY');
  if (route.type === 'local' || mask === undefined) flags.push('HOST');
  flags.push('DONE');
  if (route.protocol === 'static' || route.protocol === 'boot' || route.gateway || ecmp) flags.push('STATIC');
  if (route.protocol === 'kernel' || route.type === 'local') flags.push('PINNED');
  const links = await readLinks(vnet.ns);
  const first = [...links].sort((a, b) => a.ifindex - b.ifindex)[0]?.ifname;
  const dev = route.type === 'local' ? 'lo' : ecmp ? first : route.dev;
  const mtu = links.find((l) => l.ifname === dev)?.mtu ?? 1500;
  const lines = [`   route to: ${routeTo}`, `destination: ${destination}`];
  if (mask !== undefined) lines.push(`       mask: ${mask}`);
  if (route.gateway) lines.push(`    gateway: ${route.gateway}`);
  lines.push('        fib: 0');
  if (dev) lines.push(`  interface: ${toFreeBSD(dev)}`);
  lines.push(`      flags: <${flags.join(',')}>`);
  lines.push(' recvpipe  sendpipe  ssthresh  rtt,msec    mtu        weight    expire');
  lines.push(`       0         0         0         0  ${String(mtu).padStart(8)}         1         0 `);
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

async function flush(vnet: Vnet, words: string[], family: Family | undefined, quiet: boolean, io: ToolIo): Promise<number> {
  const fams: Family[] = words.includes('-inet6') || family === 6 ? [6] : words.includes('-inet') || family === 4 ? [4] : [4, 6];
  for (const f of fams) {
    // Every path of a gateway route (flushroutes in route.c deletes each route the dump lists,
    // one line per path of a multipath route).
    const routes = (await ipJson(vnet.ns, [...fam(f), 'route', 'show'])).routes.filter((r) => pathsOf(r).some((h) => h.gateway));
    for (const r of routes) {
      await run(IP, ['-n', vnet.ns, ...fam(f), 'route', 'del', r.dst === 'default' ? (f === 6 ? '::/0' : '0.0.0.0/0') : r.dst, ...metricWords(r)]);
      for (const h of pathsOf(r)) if (!quiet && h.gateway) io.out(`${r.dst.padEnd(20).slice(0, 20)} ${h.gateway.padEnd(20).slice(0, 20)} done\n`);
    }
  }
  return 0;
}
