/**
 * pf state -> one nftables table (`table inet pf`) with pf's semantics. Pure: the host's
 * interfaces and the sysctls come in as data; the result is an `nft -f` script that replaces
 * the whole table in one transaction.
 *
 * How pf maps onto netfilter (docs/emulated-host.md, "pf", has the full list of differences):
 * - rdr: nat chain at prerouting (`iifname`), first match wins; `no rdr` is `accept`.
 *   With net.pf.filter_local=1 the rdr rules are also compiled into the nat OUTPUT chain for
 *   packets to a local address, as if they arrived on lo0.
 * - nat: nat chain at postrouting (`oifname`), first match; `no nat` is `accept`.
 * - filter: "in" rules at prerouting (after rdr, so they see the redirected address), "out"
 *   rules at postrouting (after nat, so they see the translated source). Last match wins:
 *   non-quick rules write their decision into the packet mark, quick rules decide at once,
 *   a final chain turns the mark into a verdict. No match = pass without state.
 * - state: a connection passed by a stateful rule, or translated, carries ct mark bit 0x2;
 *   later packets of it (both directions) pass without rule evaluation. `rdr pass` sets 0x1
 *   (skip "in" filtering), `nat pass` sets 0x4 (skip "out" filtering).
 * - anchors: one chain per anchor and rule list; `anchor "x/*"` jumps to each child of x in
 *   strcmp order; an anchor with no hook in the main ruleset is never reached.
 * - tables: nft interval sets (one per family), longest-prefix negation resolved into ranges.
 * - (if): the interface's current addresses, resolved at compile time (pf refreshes them on
 *   address changes; the emulator recompiles through refreshPf).
 */
import { BITS, type Family, formatIp, isLinkLocal6, parseIp, prefixRange } from './addr';
import type { Addr, Pool, PortSpec, Rule, RuleAddr } from './ast';
import { TCP_FLAGS } from './ast';
import { devicesFor, type HostInfo, ifaLookup } from './hosts';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './services';
import { childAnchors, existingAnchors, type PfState, resolveTable } from './state';
import { effectiveRanges } from './tables';

export const NFT_TABLE = 'pf';

/** ct mark bits. */
export const CT_RDRPASS = 0x1;
export const CT_STATE = 0x2;
export const CT_NATPASS = 0x4;

export interface CompileInput {
  state: PfState;
  host: HostInfo;
  /** net.pf.filter_local. */
  filterLocal: boolean;
}

type Ctx = 'nat' | 'rdr' | 'rdrl' | 'fin' | 'fout';
type Fam = 0 | Family;

/** Decision codes kept in the low bits of the packet mark by non-quick filter rules. */
const CODE = { passState: 1, passNoState: 2, drop: 3, ret: 4, retRst: 5, retIcmp: 6 } as const;
const MAX_ANCHOR_DEPTH = 30;
const QUICK_BITS = 8;
const MAX_PORT_MAP = 4096;
const MAX_POOL_HOSTS = 256;

/** The script that removes the table (pf disabled, or nothing to enforce). */
export function emptyScript(): string {
  return `table inet ${NFT_TABLE} {}\ndelete table inet ${NFT_TABLE}\n`;
}

export function compileNft(input: CompileInput): string {
  if (!input.state.enabled) return emptyScript();
  return new Compiler(input).run();
}

const quoteIf = (d: string) => `"${d.replace(/["\\]/g, '')}"`;

function fmtIp(af: Family, v: bigint): string {
  return formatIp({ af, v });
}

class Compiler {
  private readonly chains = new Map<string, string[]>();
  private readonly chainOrder: string[] = [];
  private readonly emptyChains = new Set<string>();
  private readonly anchorIds = new Map<string, number>();
  private readonly sets = new Map<string, { name: string; af: Family; elements: string[]; comment: string }>();
  private readonly existing: Set<string>;

  constructor(private readonly input: CompileInput) {
    this.existing = new Set(existingAnchors(input.state));
    this.existing.add('');
  }

  run(): string {
    const { state } = this.input;
    const skip = (state.options.skip ?? []).flatMap((n) => devicesFor(this.input.host, n));
    const skipIn = skip.length ? [`iifname { ${skip.map(quoteIf).join(', ')} } accept`] : [];
    const skipOut = skip.length ? [`oifname { ${skip.map(quoteIf).join(', ')} } accept`] : [];

    const natPre = [...skipIn, `jump ${this.chain('rdr', '', 0, [])}`];
    const natPost = [...skipOut, `jump ${this.chain('nat', '', 0, [])}`];
    const filterIn = [
      ...skipIn,
      `ct state established,related ct mark & ${hex(CT_STATE)} == ${hex(CT_STATE)} accept`,
      `ct mark & ${hex(CT_RDRPASS)} == ${hex(CT_RDRPASS)} accept`,
      'meta mark set 0',
      `jump ${this.chain('fin', '', 0, [])}`,
      'jump verdict_in',
    ];
    const filterOut = [
      ...skipOut,
      `ct state established,related ct mark & ${hex(CT_STATE)} == ${hex(CT_STATE)} accept`,
      `ct mark & ${hex(CT_NATPASS)} == ${hex(CT_NATPASS)} accept`,
      'meta mark set 0',
      `jump ${this.chain('fout', '', 0, [])}`,
      'jump verdict_out',
    ];
    const lo0Skipped = skip.some((d) => devicesFor(this.input.host, 'lo0').includes(d));
    const natOut = this.input.filterLocal && !lo0Skipped ? [`fib daddr type local jump ${this.chain('rdrl', '', 0, [])}`] : [];

    const out: string[] = [];
    out.push(emptyScript().trimEnd());
    out.push(`table inet ${NFT_TABLE} {`);
    for (const s of this.sets.values()) {
      out.push(`\tset ${s.name} {`);
      out.push(`\t\ttype ${s.af === 4 ? 'ipv4_addr' : 'ipv6_addr'}`);
      out.push('\t\tflags interval');
      out.push(`\t\tcomment ${JSON.stringify(s.comment.slice(0, 120))}`);
      if (s.elements.length) out.push(`\t\telements = { ${s.elements.join(', ')} }`);
      out.push('\t}');
    }
    const base = (name: string, hook: string, rules: string[]) => {
      out.push(`\tchain ${name} {`);
      out.push(`\t\t${hook}`);
      for (const r of rules) out.push(`\t\t${r}`);
      out.push('\t}');
    };
    base('nat_prerouting', 'type nat hook prerouting priority dstnat; policy accept;', natPre);
    base('nat_postrouting', 'type nat hook postrouting priority srcnat; policy accept;', natPost);
    if (natOut.length) base('nat_output', 'type nat hook output priority -100; policy accept;', natOut);
    base('filter_in', 'type filter hook prerouting priority -90; policy accept;', filterIn);
    base('filter_out', 'type filter hook postrouting priority 110; policy accept;', filterOut);
    base('verdict_in', '', verdict(true));
    base('verdict_out', '', verdict(false));
    for (const name of this.chainOrder) {
      out.push(`\tchain ${name} {`);
      for (const r of this.chains.get(name) as string[]) out.push(`\t\t${r}`);
      out.push('\t}');
    }
    out.push('}');
    return `${out.filter((l) => !/^\t\t$/.test(l)).join('\n')}\n`;
  }

  private anchorId(path: string): number {
    let id = this.anchorIds.get(path);
    if (id === undefined) {
      id = this.anchorIds.size;
      this.anchorIds.set(path, id);
    }
    return id;
  }

  /**
   * The chain holding anchor `path`'s rules for `ctx` (built on first use); null for an anchor
   * with no rules of that kind (no chain, no jump: less for nft to load).
   */
  private chain(ctx: Ctx, path: string, depth: number, stack: string[]): string | null {
    const name = `${ctx}_${this.anchorId(path)}`;
    if (this.chains.has(name)) return name;
    if (this.emptyChains.has(name)) return null;
    const rules: string[] = [];
    this.chains.set(name, rules);
    this.chainOrder.push(name);
    const data = this.input.state.anchors[path];
    const list: Rule[] = !data ? [] : ctx === 'nat' ? data.ruleset.nat : ctx === 'rdr' || ctx === 'rdrl' ? data.ruleset.rdr : data.ruleset.filter;
    for (const r of list) {
      if ((ctx === 'fin' && r.direction === 'out') || (ctx === 'fout' && r.direction === 'in')) continue;
      if (r.anchor) rules.push(...this.anchorJump(ctx, path, r, depth, [...stack, path]));
      else rules.push(...this.rule(ctx, path, r, depth));
    }
    if (rules.length === 0 && path !== '') {
      this.chains.delete(name);
      this.chainOrder.splice(this.chainOrder.indexOf(name), 1);
      this.emptyChains.add(name);
      return null;
    }
    rules.unshift(`# ${path === '' ? 'main ruleset' : `anchor ${path}`}`.replace(/[^\x20-\x7e]/g, '?'));
    return name;
  }

  private anchorJump(ctx: Ctx, path: string, r: Rule, depth: number, stack: string[]): string[] {
    const call = r.anchor as NonNullable<Rule['anchor']>;
    const targets = call.wildcard ? childAnchors(this.input.state, call.path) : this.existing.has(call.path) ? [call.path] : [];
    const usable = targets.filter((t) => !stack.includes(t) && depth < MAX_ANCHOR_DEPTH);
    if (!usable.length) return [];
    const variants = this.variants(ctx, path, r);
    if (!variants.length) return [];
    const out: string[] = [];
    const quickBit = (ctx === 'fin' || ctx === 'fout') && r.quick && depth < QUICK_BITS ? 0x100 << depth : 0;
    for (const v of variants) {
      if (quickBit) out.push(`meta mark set meta mark & ${hex(0xffffffff ^ quickBit)}`);
      for (const t of usable) {
        const c = this.chain(ctx, t, depth + 1, stack);
        if (c) out.push(join(v.cond, `jump ${c}`));
      }
      if (quickBit) out.push(`meta mark & ${hex(quickBit)} == ${hex(quickBit)} jump verdict_${ctx === 'fin' ? 'in' : 'out'}`);
    }
    return out;
  }

  // ---- match conditions -------------------------------------------------------------------

  /** The nft condition sets (alternatives) a rule's match part compiles to in `ctx`. */
  private variants(ctx: Ctx, path: string, r: Rule): Array<{ fam: Fam; cond: string[] }> {
    const iface = this.ifaceCond(ctx, r);
    if (iface === false) return [];
    const famNeeded =
      r.src.addr.type !== 'any' || r.dst.addr.type !== 'any' || r.icmpType !== undefined || ((ctx === 'nat' || ctx === 'rdr' || ctx === 'rdrl') && !!r.pool);
    const fams: Fam[] = r.af ? [r.af] : famNeeded ? [4, 6] : [0];
    const out: Array<{ fam: Fam; cond: string[] }> = [];
    for (const fam of fams) {
      const cond: string[] = [];
      if (iface) cond.push(iface);
      if (fam) cond.push(`meta nfproto ${fam === 4 ? 'ipv4' : 'ipv6'}`);
      if (r.proto !== undefined) cond.push(`meta l4proto ${r.proto}`);
      const s = this.addrCond('saddr', r.src, fam, path);
      const d = this.addrCond('daddr', r.dst, fam, path);
      if (s === false || d === false) continue;
      if (s) cond.push(s);
      if (d) cond.push(d);
      const l4 = r.proto === IPPROTO_TCP ? 'tcp' : r.proto === IPPROTO_UDP ? 'udp' : null;
      if (r.src.port || r.dst.port) {
        const sp = r.src.port ? portCond(l4 ?? 'th', 'sport', r.src.port) : null;
        const dp = r.dst.port ? portCond(l4 ?? 'th', 'dport', r.dst.port) : null;
        if (sp === false || dp === false) continue;
        if (!l4) cond.push('meta l4proto { tcp, udp }');
        if (sp) cond.push(sp);
        if (dp) cond.push(dp);
      }
      if (r.icmpType !== undefined) {
        const k = fam === 6 ? 'icmpv6' : 'icmp';
        cond.push(`${k} type ${r.icmpType}`);
        if (r.icmpCode !== undefined) cond.push(`${k} code ${r.icmpCode}`);
      }
      if (r.fragment) continue; // fragments are reassembled by conntrack before pf would see them
      if (r.flagset && (r.proto === undefined || r.proto === IPPROTO_TCP)) {
        const f = `tcp flags & (${flagNames(r.flagset)}) == ${r.flags ? flagNames(r.flags) : '0'}`;
        if (r.proto === IPPROTO_TCP) out.push({ fam, cond: [...cond, f] });
        else {
          out.push({ fam, cond: [...cond, `meta l4proto != ${IPPROTO_TCP}`] });
          out.push({ fam, cond: [...cond, `meta l4proto ${IPPROTO_TCP}`, f] });
        }
        continue;
      }
      out.push({ fam, cond });
    }
    return out;
  }

  /** Interface condition; false when it can never match (static lo0 context of rdrl). */
  private ifaceCond(ctx: Ctx, r: Rule): string | null | false {
    if (!r.ifname) return null;
    const devs = devicesFor(this.input.host, r.ifname);
    if (ctx === 'rdrl') {
      const lo = devicesFor(this.input.host, 'lo0');
      const covers = devs.some((d) => lo.includes(d));
      return covers !== !!r.ifnot ? null : false;
    }
    const kw = ctx === 'nat' || ctx === 'fout' ? 'oifname' : 'iifname';
    const set = devs.length === 1 ? quoteIf(devs[0] as string) : `{ ${devs.map(quoteIf).join(', ')} }`;
    return `${kw} ${r.ifnot ? '!= ' : ''}${set}`;
  }

  private addrCond(dir: 'saddr' | 'daddr', ra: RuleAddr, fam: Fam, path: string): string | null | false {
    const a = ra.addr;
    if (a.type === 'any') return ra.neg ? false : null;
    if (!fam) return false;
    const kw = fam === 4 ? 'ip' : 'ip6';
    const op = ra.neg ? '!= ' : '';
    switch (a.type) {
      case 'addrmask':
        if (a.af !== fam) return ra.neg ? null : false;
        return `${kw} ${dir} ${op}${a.prefix === BITS[a.af] ? a.addr : `${a.addr}/${a.prefix}`}`;
      case 'range':
        if (a.af !== fam) return ra.neg ? null : false;
        return `${kw} ${dir} ${op}${a.from}-${a.to}`;
      case 'table':
        return `${kw} ${dir} ${op}@${this.tableSet(path, a.name, fam)}`;
      case 'dynif': {
        const addrs = this.dynAddrs(a, fam, false);
        if (!addrs.length) return ra.neg ? null : false;
        const items = addrs.map((x) => (x.prefix === BITS[fam] ? fmtIp(fam, x.v) : `${fmtIp(fam, x.v)}/${x.prefix}`));
        return `${kw} ${dir} ${op}{ ${items.join(', ')} }`;
      }
      default:
        return false;
    }
  }

  private dynAddrs(a: Extract<Addr, { type: 'dynif' }>, fam: Family, forPool: boolean): Array<{ v: bigint; prefix: number }> {
    const flags: { mode?: 'network' | 'broadcast' | 'peer'; noalias?: boolean } = {};
    if (a.mode) flags.mode = a.mode;
    if (a.noalias) flags.noalias = true;
    let addrs = ifaLookup(this.input.host, a.ifname, flags).filter((x) => x.af === fam);
    if (forPool) addrs = addrs.filter((x) => !(x.af === 6 && isLinkLocal6(x.v)));
    return addrs.map((x) => {
      const prefix = a.prefix !== undefined && a.prefix < BITS[fam] ? a.prefix : x.prefix;
      return { v: prefix < BITS[fam] ? x.v & ~((1n << BigInt(BITS[fam] - prefix)) - 1n) : x.v, prefix };
    });
  }

  private tableSet(path: string, name: string, fam: Family): string {
    const resolved = resolveTable(this.input.state, path, name);
    const owner = resolved ? resolved.anchor : path;
    const key = `${owner}\u0000${name}\u0000${fam}`;
    let s = this.sets.get(key);
    if (!s) {
      const elements = resolved ? effectiveRanges(resolved.table.entries, fam).map((iv) => rangeText(fam, iv.lo, iv.hi)) : [];
      s = { name: `t${this.sets.size}_${fam}`, af: fam, elements, comment: `${owner || '/'}:<${name}>` };
      this.sets.set(key, s);
    }
    return s.name;
  }

  // ---- translation targets ----------------------------------------------------------------

  private poolTargets(pool: Pool, fam: Family, path: string): string[] {
    const out: string[] = [];
    for (const h of pool.hosts) {
      if (h.type === 'addrmask' && h.af === fam) out.push(h.addr);
      else if (h.type === 'dynif') for (const a of this.dynAddrs(h, fam, true)) out.push(fmtIp(fam, a.v));
      else if (h.type === 'table') {
        const t = resolveTable(this.input.state, path, h.name);
        if (!t) continue;
        for (const iv of effectiveRanges(t.table.entries, fam)) {
          for (let v = iv.lo; v <= iv.hi && out.length < MAX_POOL_HOSTS; v++) out.push(fmtIp(fam, v));
        }
      }
    }
    return out.slice(0, MAX_POOL_HOSTS);
  }

  /** `ip to X`, `ip6 to numgen inc mod 2 map { ... }`, with `portPart` appended. */
  private targetExpr(pool: Pool, fam: Family, targets: string[], portPart: string, hashKey: string): string {
    const kw = fam === 4 ? 'ip' : 'ip6';
    if (targets.length === 1) {
      const t = targets[0] as string;
      return `${kw} to ${fam === 6 && portPart ? `[${t}]` : t}${portPart}`;
    }
    const sel = pool.type === 'random' ? 'numgen random' : pool.type === 'source-hash' ? `jhash ${kw} ${hashKey}` : 'numgen inc';
    const map = targets.map((t, i) => `${i} : ${t}`).join(', ');
    return `${kw} to ${sel} mod ${targets.length} map { ${map} }${portPart ? ` ${portPart}` : ''}`;
  }

  // ---- rules ------------------------------------------------------------------------------

  private rule(ctx: Ctx, path: string, r: Rule, depth: number): string[] {
    const variants = this.variants(ctx, path, r);
    const out: string[] = [];
    for (const v of variants) {
      if (ctx === 'nat' || ctx === 'rdr' || ctx === 'rdrl') out.push(...this.translation(ctx, path, r, v));
      else out.push(...this.filter(ctx, r, v.cond, depth));
    }
    return out;
  }

  private translation(ctx: Ctx, path: string, r: Rule, v: { fam: Fam; cond: string[] }): string[] {
    if (r.action === 'nonat' || r.action === 'nordr') return [join(v.cond, 'accept')];
    const pool = r.pool as Pool;
    const fam = v.fam as Family;
    const targets = this.poolTargets(pool, fam, path);
    if (!targets.length) return [join(v.cond, 'drop')]; // translation address unavailable: pf drops (PFRES_MAPFAILED)
    const l4known = r.proto === IPPROTO_TCP || r.proto === IPPROTO_UDP;
    if (ctx === 'nat') {
      const mark = `ct mark set ct mark | ${hex(CT_STATE | (r.natpass ? CT_NATPASS : 0))}`;
      const [p1, p2] = pool.proxyPort;
      const ports = p1 === 0 && p2 === 0 ? '' : p1 === p2 ? `:${p1}` : `:${p1}-${p2}`;
      const withPorts = join(v.cond, `${l4known ? '' : 'meta l4proto { tcp, udp } '}${mark} snat ${this.targetExpr(pool, fam, targets, ports, 'saddr')}`);
      const plain = join(v.cond, `${mark} snat ${this.targetExpr(pool, fam, targets, '', 'saddr')}`);
      if (!ports) return [plain];
      if (l4known) return [withPorts];
      if (r.proto !== undefined) return [plain];
      return [withPorts, plain];
    }
    const mark = `ct mark set ct mark | ${hex(CT_STATE | (r.natpass ? CT_RDRPASS : 0))}`;
    const port = this.rdrPort(r);
    if (port === null) return [join(v.cond, `${mark} dnat ${this.targetExpr(pool, fam, targets, '', 'saddr')}`)];
    if (!l4known) return [join(v.cond, `${mark} dnat ${this.targetExpr(pool, fam, targets, '', 'saddr')}`)];
    return [join(v.cond, `${mark} dnat ${this.targetExpr(pool, fam, targets, port, 'saddr')}`)];
  }

  /** The port part of an rdr target: null to keep the port, ":80", or a per-port map. */
  private rdrPort(r: Rule): string | null {
    const [p1, p2] = (r.pool as Pool).proxyPort;
    if (!p1) return null;
    if (!p2 || p2 === p1) return `:${p1}`;
    const dp = r.dst.port;
    const l4 = r.proto === IPPROTO_UDP ? 'udp' : 'tcp';
    if (!dp || dp.op === 'eq') return dp ? `:${p1}` : `:${p1}-${p2}`;
    if (dp.op !== 'rrg') return `:${p1}`;
    const width = p2 - p1 + 1;
    if (dp.a === p1 && dp.b - dp.a < width) return null; // one-to-one onto the same numbers
    if (dp.b - dp.a + 1 > MAX_PORT_MAP) return `:${p1}-${p2}`;
    const pairs: string[] = [];
    for (let port = dp.a; port <= dp.b; port++) pairs.push(`${port} : ${((port - dp.a) % width) + p1}`);
    return ` : ${l4} dport map { ${pairs.join(', ')} }`;
  }

  private filter(ctx: Ctx, r: Rule, cond: string[], _depth: number): string[] {
    const inbound = ctx === 'fin';
    if (!r.quick) {
      let code: number;
      if (r.action === 'pass') code = r.keepState === 'none' ? CODE.passNoState : CODE.passState;
      else {
        const k = r.block?.kind ?? 'drop';
        code = k === 'drop' ? CODE.drop : k === 'return' ? CODE.ret : k === 'return-rst' ? CODE.retRst : CODE.retIcmp;
      }
      return [join(cond, `meta mark set meta mark & 0xfffffff0 | ${hex(0xff00 | code)}`)];
    }
    if (r.action === 'pass') return [join(cond, r.keepState === 'none' ? 'accept' : `ct mark set ct mark | ${hex(CT_STATE)} accept`)];
    const k = r.block?.kind ?? 'drop';
    if (k === 'drop' || !inbound) return [join(cond, 'drop')];
    if (k === 'return-rst') return [join(cond, `meta l4proto ${IPPROTO_TCP} reject with tcp reset`), join(cond, 'drop')];
    if (k === 'return-icmp') return [join(cond, 'reject with icmpx type port-unreachable')];
    return [join(cond, `meta l4proto ${IPPROTO_TCP} reject with tcp reset`), join(cond, 'reject with icmpx type port-unreachable')];
  }
}

function verdict(inbound: boolean): string[] {
  const m = (c: number) => `meta mark & 0xf == ${c}`;
  const out = [`${m(CODE.passState)} ct mark set ct mark | ${hex(CT_STATE)} accept`, `${m(CODE.passNoState)} accept`, `${m(CODE.drop)} drop`];
  if (inbound) {
    out.push(`${m(CODE.ret)} meta l4proto ${IPPROTO_TCP} reject with tcp reset`);
    out.push(`${m(CODE.ret)} reject with icmpx type port-unreachable`);
    out.push(`${m(CODE.retRst)} meta l4proto ${IPPROTO_TCP} reject with tcp reset`);
    out.push(`${m(CODE.retRst)} drop`);
    out.push(`${m(CODE.retIcmp)} reject with icmpx type port-unreachable`);
  } else {
    out.push(`${m(CODE.ret)} drop`, `${m(CODE.retRst)} drop`, `${m(CODE.retIcmp)} drop`);
  }
  out.push('accept');
  return out;
}

function join(cond: string[], action: string): string {
  return [...cond, action].join(' ');
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function flagNames(f: number): string {
  const names = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ecn', 'cwr'];
  const out: string[] = [];
  for (let i = 0; i < TCP_FLAGS.length; i++) if (f & (1 << i)) out.push(names[i] as string);
  return out.join(' | ');
}

function portCond(l4: string, dir: 'sport' | 'dport', p: PortSpec): string | false {
  const k = `${l4} ${dir}`;
  switch (p.op) {
    case 'eq':
      return `${k} ${p.a}`;
    case 'ne':
      return `${k} != ${p.a}`;
    case 'lt':
      return p.a === 0 ? false : `${k} < ${p.a}`;
    case 'le':
      return `${k} <= ${p.a}`;
    case 'gt':
      return p.a >= 65535 ? false : `${k} > ${p.a}`;
    case 'ge':
      return `${k} >= ${p.a}`;
    case 'rrg':
      return `${k} ${Math.min(p.a, p.b)}-${Math.max(p.a, p.b)}`;
    case 'irg':
      return p.a + 1 > p.b - 1 ? false : p.a + 1 === p.b - 1 ? `${k} ${p.a + 1}` : `${k} ${p.a + 1}-${p.b - 1}`;
    case 'xrg':
      return `${k} != ${p.a}-${p.b}`;
  }
}

function rangeText(af: Family, lo: bigint, hi: bigint): string {
  if (lo === hi) return fmtIp(af, lo);
  // exact prefix?
  const size = hi - lo + 1n;
  if ((size & (size - 1n)) === 0n && lo % size === 0n) {
    const bits = size.toString(2).length - 1;
    return `${fmtIp(af, lo)}/${BITS[af] - bits}`;
  }
  return `${fmtIp(af, lo)}-${fmtIp(af, hi)}`;
}

export const _test = { portCond, rangeText, parseIp, prefixRange, IPPROTO_ICMP, IPPROTO_ICMPV6 };
