/**
 * pf state -> nftables (`table inet pf`, plus `table bridge pf` when the host has bridge
 * members) with pf's semantics. Pure: the host's interfaces and the sysctls come in as data;
 * the result is an `nft -f` script that replaces both tables in one transaction.
 *
 * How pf maps onto netfilter (docs/emulated-host.md, "pf", has the full list of differences):
 * - A packet meets pf once per "pass" (an interface and a direction, pf_test()). Each pass is
 *   one base chain: rdr and filter "in" at prerouting, nat and filter "out" at postrouting,
 *   interface conditions on `iifname`/`oifname`.
 * - rdr: nat chain at prerouting, first match wins (pf_lb.c, pf_match_translation); `no rdr`
 *   is `accept`. nat: nat chain at postrouting, the same.
 * - filter: "in" rules at prerouting (after rdr, so they see the redirected address), "out"
 *   rules at postrouting (after nat, so they see the translated source). Last match wins:
 *   non-quick rules write their decision into the packet mark, quick rules decide at once,
 *   a final chain turns the mark into a verdict. No match = pass without state.
 * - state: a connection passed by a stateful rule, or translated, carries ct mark bit 0x2;
 *   later packets of it (both directions) pass without rule evaluation. `rdr pass` sets 0x1
 *   (skip "in" filtering), `nat pass` sets 0x4 (skip "out" filtering).
 * - tags (`tag`, `tagged`): a tag id in the packet mark, which lives as long as the packet in
 *   the host, as pf's mbuf tag does (pf_lb.c tags in pf_match_translation; pf.conf(5): a tag
 *   is sticky, set by every matching rule, replaced but never removed).
 * - bridged frames (sys/net/if_bridge.c, bridge_forward/bridge_pfil): pf runs "in" on the
 *   source member, "in" and "out" on the bridge, "out" on the destination member, as
 *   net.link.bridge.pfil_member/pfil_bridge say. br_netfilter hands bridged IPv4/IPv6 to the
 *   inet hooks with the bridge as interface: those are the bridge passes. `table bridge pf`
 *   marks each frame from a member with the member's port id and, when the destination MAC is
 *   not the bridge's own (GRAB_OUR_PACKETS), as bridged; at the bridge forward hook the port
 *   id becomes the outgoing member's. The member passes are extra inet chains whose interface
 *   conditions test the port id.
 * - traffic of the host to itself goes through lo0: rdr rules that apply to lo0 redirect it at
 *   the nat OUTPUT hook. The reply of a redirected connection comes back on another
 *   interface with a local source, which ip_input.c / ip6_input.c drop
 *   (source_address_validation, on by default in 14.x): a chain at the input hook does that.
 * - net.pf.filter_local (as read at `pfctl -e`): pf's "out" pass on lo0 for every packet
 *   delivered locally (ip_input.c, V_inet_local_pfil_head): nat and "out" filter rules that
 *   apply to lo0, at the input hook.
 * - anchors: one chain per anchor and rule list; `anchor "x/*"` jumps to each child of x in
 *   strcmp order; an anchor with no hook in the main ruleset is never reached.
 * - tables: nft interval sets (one per family), longest-prefix negation resolved into ranges.
 * - (if): the interface's current addresses, resolved at compile time (pf refreshes them on
 *   address changes; the emulator recompiles through refreshPf).
 */
import { BITS, type Family, formatIp, isLinkLocal6, parseIp, prefixRange } from './addr';
import type { Addr, Pool, PortSpec, Rule, RuleAddr } from './ast';
import { TCP_FLAGS } from './ast';
import { bridgePorts, devicesFor, type HostInfo, ifaLookup } from './hosts';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './services';
import { allRules, childAnchors, existingAnchors, type PfState, resolveTable } from './state';
import { effectiveRanges } from './tables';

export const NFT_TABLE = 'pf';

/** ct mark bits. */
export const CT_RDRPASS = 0x1;
export const CT_STATE = 0x2;
export const CT_NATPASS = 0x4;

/**
 * Packet mark bits (the mark lives while the packet is in the host namespace; crossing into a
 * jail clears it): the decision of the current pass, per-depth "a rule matched" bits for quick
 * anchors, the pf tag, the bridged flag and the bridge member (port) the frame came in on
 * (after the bridge forward hook: goes out on).
 */
const MARK_CODE = 0xf;
const MARK_MATCHED = 0xff0;
const MATCHED_SHIFT = 4;
const MARK_TAG = 0xfff000;
const TAG_SHIFT = 12;
export const MAX_TAGS = 0xfff;
const MARK_BRIDGED = 0x1000000;
const MARK_PORT = 0xfe000000;
const PORT_SHIFT = 25;
export const MAX_PORTS = 0x7f;

/** net.link.bridge.pfil_* (if_bridge.c reads them for every frame). */
export interface BridgeSysctls {
  member: boolean;
  bridge: boolean;
  onlyIp: boolean;
  localPhys: boolean;
}

export const DEFAULT_BRIDGE_SYSCTLS: BridgeSysctls = { member: true, bridge: true, onlyIp: true, localPhys: false };

export interface CompileInput {
  state: PfState;
  host: HostInfo;
  bridge: BridgeSysctls;
}

/**
 * Rule lists as compiled for one kind of pass: nat/rdr/fin/fout on the packet's interface,
 * rdrl (rdr for the host's traffic to itself: in on lo0), natl/foutl (filter_local: out on
 * lo0 for locally delivered packets), mfin/mfout (a bridged frame on a bridge member).
 */
type Ctx = 'nat' | 'rdr' | 'rdrl' | 'natl' | 'fin' | 'fout' | 'foutl' | 'mfin' | 'mfout';
type Fam = 0 | Family;

const TRANSLATION: ReadonlySet<Ctx> = new Set(['nat', 'rdr', 'rdrl', 'natl']);
const INBOUND: ReadonlySet<Ctx> = new Set(['rdr', 'rdrl', 'fin', 'mfin']);
/** Contexts whose interface is lo0, known at compile time. */
const ON_LO0: ReadonlySet<Ctx> = new Set(['rdrl', 'natl', 'foutl']);
const ON_MEMBER: ReadonlySet<Ctx> = new Set(['mfin', 'mfout']);

/** Decision codes kept in the low bits of the packet mark by non-quick filter rules. */
const CODE = { passState: 1, passNoState: 2, drop: 3, ret: 4, retRst: 5, retIcmp: 6 } as const;
const MAX_ANCHOR_DEPTH = 30;
const QUICK_BITS = 8;
const MAX_PORT_MAP = 4096;
const MAX_POOL_HOSTS = 256;
/** Ethernet types bridge_pfil lets through with pfil_onlyip=1: IPv4, IPv6, ARP, RARP. */
const ONLY_IP_TYPES = 'meta protocol != { ip, ip6, arp, 0x8035 }';

/** The script that removes the tables (pf disabled, or nothing to enforce). */
export function emptyScript(): string {
  return `table inet ${NFT_TABLE} {}\ndelete table inet ${NFT_TABLE}\ntable bridge ${NFT_TABLE} {}\ndelete table bridge ${NFT_TABLE}\n`;
}

/**
 * The bridge ports that must be in Linux's hairpin mode while the rules are applied. When an
 * rdr sends a frame that came to the bridge's own address to a jail on the same bridge,
 * br_netfilter does not route it but bridges it to the jail ("bridged DNAT"); for a jail
 * reaching itself through the host's address that is the port it came in by, which Linux
 * refuses without hairpin mode, while FreeBSD routes it out there (bridge_output). The bridge
 * table drops everything else that would go back out its port.
 */
export function hairpinPorts(host: HostInfo): string[] {
  return bridgePorts(host)
    .slice(0, MAX_PORTS)
    .map((p) => p.dev);
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
  /** Tag name -> id (pf_tagname2tag), in name order. */
  private readonly tagIds = new Map<string, number>();
  /** Bridge member device -> port id. */
  private readonly portIds = new Map<string, number>();

  constructor(private readonly input: CompileInput) {
    this.existing = new Set(existingAnchors(input.state));
    this.existing.add('');
    const tags = new Set<string>();
    for (const a of Object.values(input.state.anchors)) {
      for (const r of allRules(a.ruleset)) {
        if (r.tag !== undefined) tags.add(r.tag);
        if (r.tagged) tags.add(r.tagged.name);
      }
    }
    [...tags].sort().slice(0, MAX_TAGS).forEach((t, i) => this.tagIds.set(t, i + 1));
    bridgePorts(input.host)
      .slice(0, MAX_PORTS)
      .forEach((p, i) => this.portIds.set(p.dev, i + 1));
  }

  run(): string {
    const { state, host, bridge } = this.input;
    const skipNames = (state.options.skip ?? []).flatMap((n) => devicesFor(host, n));
    const skipIn = skipNames.length ? [`iifname { ${skipNames.map(quoteIf).join(', ')} } accept`] : [];
    const skipOut = skipNames.length ? [`oifname { ${skipNames.map(quoteIf).join(', ')} } accept`] : [];
    const skipPorts = skipNames.flatMap((d) => this.portMark(d));
    const lo0Skipped = skipNames.some((d) => devicesFor(host, 'lo0').includes(d));
    // pfil_bridge=0: bridged frames get no pass on the bridge (if_bridge.c, bridge_pfil).
    const bridgePass = bridge.bridge ? [] : [`meta mark & ${hex(MARK_BRIDGED)} == ${hex(MARK_BRIDGED)} accept`];
    const members = bridge.member && this.portIds.size > 0;
    const stateful = (skip: number) => [
      `ct state established,related ct mark & ${hex(CT_STATE)} == ${hex(CT_STATE)} accept`,
      ...(skip ? [`ct mark & ${hex(skip)} == ${hex(skip)} accept`] : []),
      `meta mark set meta mark & ${hex(~(MARK_CODE | MARK_MATCHED))}`,
    ];
    const jumps = (ctx: Ctx, verdictChain: string) => {
      const c = this.chain(ctx, '', 0, []);
      return c ? [`jump ${c}`, `jump ${verdictChain}`] : [];
    };

    const out: string[] = [];
    const base = (name: string, hook: string, rules: string[]) => {
      out.push(`\tchain ${name} {`);
      out.push(`\t\t${hook}`);
      for (const r of rules) out.push(`\t\t${r}`);
      out.push('\t}');
    };
    const chainsOf = () => {
      const body: string[] = [];
      for (const name of this.chainOrder) {
        body.push(`\tchain ${name} {`);
        for (const r of this.chains.get(name) as string[]) body.push(`\t\t${r}`);
        body.push('\t}');
      }
      return body;
    };

    // Built first: the chains and sets they need are collected on the way.
    const natPre = [...skipIn, ...bridgePass, ...this.jumpTo('rdr')];
    const natPost = [...skipOut, ...bridgePass, ...this.jumpTo('nat')];
    // The host's own traffic to a local address: in on lo0 (rdr), unless lo0 is skipped.
    const natOut = lo0Skipped ? [] : this.jumpTo('rdrl', true).map((j) => `fib daddr type local ${j}`);
    const filterIn = [...skipIn, ...bridgePass, ...stateful(CT_RDRPASS), ...jumps('fin', 'verdict_in')];
    const filterOut = [...skipOut, ...bridgePass, ...stateful(CT_NATPASS), ...jumps('fout', 'verdict_out')];
    // Member passes: frames from a bridge member ("in" also for the host with pfil_local_phys)
    // that are bridged; `set skip on` a member skips its passes.
    const bridgedOnly = [`meta mark & ${hex(MARK_BRIDGED)} == 0 accept`];
    const fromMember = [`meta mark & ${hex(MARK_PORT)} == 0 accept`, ...(skipPorts.length ? [`meta mark & ${hex(MARK_PORT)} { ${skipPorts.join(', ')} } accept`] : [])];
    const memberIn = members ? jumps('mfin', 'verdict_in') : [];
    const memberOut = members ? jumps('mfout', 'verdict_out') : [];
    const filterLocal = !!state.filterLocal && !lo0Skipped;
    const natLocal = filterLocal ? this.jumpTo('natl', true) : [];
    const filterLocalOut = filterLocal ? jumps('foutl', 'verdict_out') : [];
    const memberTable = this.bridgeTable();

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
    base('nat_prerouting', 'type nat hook prerouting priority dstnat; policy accept;', natPre);
    base('nat_postrouting', 'type nat hook postrouting priority srcnat; policy accept;', natPost);
    if (natOut.length) base('nat_output', 'type nat hook output priority -100; policy accept;', natOut);
    if (memberIn.length) base('filter_member_in', 'type filter hook prerouting priority -150; policy accept;', [...(bridge.localPhys ? [] : bridgedOnly), ...fromMember, ...stateful(0), ...memberIn]);
    base('filter_in', 'type filter hook prerouting priority -90; policy accept;', filterIn);
    base('filter_out', 'type filter hook postrouting priority 110; policy accept;', filterOut);
    if (memberOut.length) base('filter_member_out', 'type filter hook postrouting priority 120; policy accept;', [...bridgedOnly, ...fromMember, ...stateful(0), ...memberOut]);
    // ip_input.c / ip6_input.c: a packet for a local address that arrives on another
    // interface than lo0 with a local source is dropped. The source a new connection
    // arrives with is checked before filter_local's nat (srcnat at the input hook), a reply's
    // after its translation is undone there (the reverse of an rdr changes its source).
    const sav = 'iifname != "lo" fib daddr type local fib saddr type local drop';
    base('source_check', 'type filter hook input priority 99; policy accept;', [`ct direction != reply ${sav}`]);
    base('source_check_reply', 'type filter hook input priority 101; policy accept;', [`ct direction reply ${sav}`]);
    if (natLocal.length) base('nat_local', 'type nat hook input priority 100; policy accept;', natLocal);
    if (filterLocalOut.length) base('filter_local', 'type filter hook input priority 102; policy accept;', [...stateful(CT_NATPASS), ...filterLocalOut]);
    base('verdict_in', '', verdict(true));
    base('verdict_out', '', verdict(false));
    out.push(...chainsOf());
    out.push('}');
    if (memberTable.length) out.push(`table bridge ${NFT_TABLE} {`, ...memberTable, '}');
    return `${out.filter((l) => !/^\t\t$/.test(l)).join('\n')}\n`;
  }

  /** `jump CHAIN` to the main ruleset's chain for `ctx`; with `optional`, nothing when that chain has no rules. */
  private jumpTo(ctx: Ctx, optional = false): string[] {
    const c = this.chain(ctx, '', 0, []);
    if (!c || (optional && (this.chains.get(c) as string[]).length <= 1)) return [];
    return [`jump ${c}`];
  }

  /**
   * `table bridge pf`: marks frames from bridge members with their port id, as bridged when
   * their destination is not one of the bridge's own addresses (unicast only: a broadcast or
   * multicast frame is also delivered locally, and is treated as local), and at the forward
   * hook with the outgoing member's port id. pfil_onlyip drops what bridge_pfil drops.
   */
  private bridgeTable(): string[] {
    const ports = bridgePorts(this.input.host).filter((p) => this.portIds.has(p.dev));
    if (!ports.length) return [];
    const { bridge } = this.input;
    const onlyIp = bridge.onlyIp && (bridge.member || bridge.bridge) ? [`${ONLY_IP_TYPES} drop`] : [];
    const keep = hex(~(MARK_BRIDGED | MARK_PORT));
    const pre: string[] = [];
    // hairpinPorts() puts the ports in Linux's hairpin mode for bridged DNAT; nothing else may
    // go back out the port it came in by: not a flooded frame, not a bridged one.
    const fwd: string[] = ports.flatMap((p) => {
      const self = `iifname ${quoteIf(p.dev)} oifname ${quoteIf(p.dev)}`;
      return [`${self} meta pkttype { broadcast, multicast } drop`, `${self} meta mark & ${hex(MARK_BRIDGED)} == ${hex(MARK_BRIDGED)} drop`];
    });
    fwd.push(...onlyIp);
    for (const p of ports) {
      const id = this.portIds.get(p.dev) as number;
      const mark = id << PORT_SHIFT;
      const own = p.localMacs.length ? ` ether daddr != { ${p.localMacs.join(', ')} }` : '';
      pre.push(`iifname ${quoteIf(p.dev)} meta pkttype != { broadcast, multicast }${own} meta mark set meta mark & ${keep} | ${hex(mark | MARK_BRIDGED)} accept`);
      pre.push(`iifname ${quoteIf(p.dev)} meta mark set meta mark & ${keep} | ${hex(mark)} accept`);
      fwd.push(`oifname ${quoteIf(p.dev)} meta mark set meta mark & ${hex(~MARK_PORT)} | ${hex(mark)} accept`);
    }
    const chain = (name: string, hook: string, rules: string[]) => [`\tchain ${name} {`, `\t\t${hook}`, ...rules.map((r) => `\t\t${r}`), '\t}'];
    return [
      ...chain('member_in', 'type filter hook prerouting priority -200; policy accept;', pre),
      ...chain('member_forward', 'type filter hook forward priority -200; policy accept;', fwd),
      ...(onlyIp.length && bridge.localPhys ? chain('member_local', 'type filter hook input priority -200; policy accept;', onlyIp) : []),
    ];
  }

  /** The port-id mark values of a Linux device ([] when it is not a numbered bridge member). */
  private portMark(dev: string): string[] {
    const id = this.portIds.get(dev);
    return id ? [hex(id << PORT_SHIFT)] : [];
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
    const list: Rule[] = !data ? [] : ctx === 'nat' || ctx === 'natl' ? data.ruleset.nat : ctx === 'rdr' || ctx === 'rdrl' ? data.ruleset.rdr : data.ruleset.filter;
    const filter = !TRANSLATION.has(ctx);
    for (const r of list) {
      if (filter && r.direction && r.direction !== (INBOUND.has(ctx) ? 'in' : 'out')) continue;
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
    const quickBit = !TRANSLATION.has(ctx) && r.quick && depth < QUICK_BITS ? 1 << (MATCHED_SHIFT + depth) : 0;
    // An anchor rule that matches tags the packet before its rules are evaluated.
    const tag = this.tagSet(r, 0, 0);
    for (const v of variants) {
      if (quickBit) out.push(`meta mark set meta mark & ${hex(~quickBit)}`);
      for (const t of usable) {
        const c = this.chain(ctx, t, depth + 1, stack);
        if (c) out.push(join(v.cond, `${tag}jump ${c}`));
      }
      if (quickBit) out.push(`meta mark & ${hex(quickBit)} == ${hex(quickBit)} jump verdict_${INBOUND.has(ctx) ? 'in' : 'out'}`);
    }
    return out;
  }

  /**
   * `meta mark set ... ` (with a trailing space) that writes the rule's tag and `value` into
   * the mark, keeping the bits outside `clear`; '' when there is nothing to write.
   */
  private tagSet(r: Rule, clear: number, value: number): string {
    const id = r.tag !== undefined ? this.tagIds.get(r.tag) : undefined;
    if (!id && !clear) return '';
    const mask = clear | (id ? MARK_TAG : 0);
    return `meta mark set meta mark & ${hex(~mask)} | ${hex(value | (id ? id << TAG_SHIFT : 0))} `;
  }

  // ---- match conditions -------------------------------------------------------------------

  /** The nft condition sets (alternatives) a rule's match part compiles to in `ctx`. */
  private variants(ctx: Ctx, path: string, r: Rule): Array<{ fam: Fam; cond: string[] }> {
    const iface = this.ifaceCond(ctx, r);
    if (iface === false) return [];
    const famNeeded =
      r.src.addr.type !== 'any' || r.dst.addr.type !== 'any' || r.icmpType !== undefined || (TRANSLATION.has(ctx) && !!r.pool);
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
      if (r.tagged) {
        // pf_match_tag: the tag the packet carries now (set on an earlier pass or by an
        // earlier rule of this one).
        const id = this.tagIds.get(r.tagged.name) ?? 0;
        cond.push(`meta mark & ${hex(MARK_TAG)} ${r.tagged.neg ? '!=' : '=='} ${hex(id << TAG_SHIFT)}`);
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

  /**
   * Interface condition (pfi_kkif_match, with `!`); false when it can never match. lo0
   * contexts know their interface; member passes test the port id in the mark.
   */
  private ifaceCond(ctx: Ctx, r: Rule): string | null | false {
    if (!r.ifname) return null;
    const devs = devicesFor(this.input.host, r.ifname);
    if (ON_LO0.has(ctx)) {
      const lo = devicesFor(this.input.host, 'lo0');
      const covers = devs.some((d) => lo.includes(d));
      return covers !== !!r.ifnot ? null : false;
    }
    if (ON_MEMBER.has(ctx)) {
      const marks = devs.flatMap((d) => this.portMark(d));
      if (!marks.length) return r.ifnot ? null : false;
      const set = marks.length === 1 ? (marks[0] as string) : `{ ${marks.join(', ')} }`;
      return `meta mark & ${hex(MARK_PORT)} ${r.ifnot ? '!=' : '=='} ${set}`.replace('== {', '{');
    }
    const kw = INBOUND.has(ctx) ? 'iifname' : 'oifname';
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
      if (TRANSLATION.has(ctx)) out.push(...this.translation(ctx, path, r, v));
      else out.push(...this.filter(ctx, r, v.cond, depth));
    }
    return out;
  }

  private translation(ctx: Ctx, path: string, r: Rule, v: { fam: Fam; cond: string[] }): string[] {
    // pf_match_translation tags the packet for the matching rule, `no nat`/`no rdr` included.
    const tag = this.tagSet(r, 0, 0);
    if (r.action === 'nonat' || r.action === 'nordr') return [join(v.cond, `${tag}accept`)];
    const pool = r.pool as Pool;
    const fam = v.fam as Family;
    const targets = this.poolTargets(pool, fam, path);
    if (!targets.length) return [join(v.cond, 'drop')]; // translation address unavailable: pf drops (PFRES_MAPFAILED)
    const l4known = r.proto === IPPROTO_TCP || r.proto === IPPROTO_UDP;
    if (ctx === 'nat' || ctx === 'natl') {
      const mark = `${tag}ct mark set ct mark | ${hex(CT_STATE | (r.natpass ? CT_NATPASS : 0))}`;
      const [p1, p2] = pool.proxyPort;
      const ports = p1 === 0 && p2 === 0 ? '' : p1 === p2 ? `:${p1}` : `:${p1}-${p2}`;
      const withPorts = join(v.cond, `${l4known ? '' : 'meta l4proto { tcp, udp } '}${mark} snat ${this.targetExpr(pool, fam, targets, ports, 'saddr')}`);
      const plain = join(v.cond, `${mark} snat ${this.targetExpr(pool, fam, targets, '', 'saddr')}`);
      if (!ports) return [plain];
      if (l4known) return [withPorts];
      if (r.proto !== undefined) return [plain];
      return [withPorts, plain];
    }
    const mark = `${tag}ct mark set ct mark | ${hex(CT_STATE | (r.natpass ? CT_RDRPASS : 0))}`;
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
    const inbound = INBOUND.has(ctx);
    if (!r.quick) {
      let code: number;
      if (r.action === 'pass') code = r.keepState === 'none' ? CODE.passNoState : CODE.passState;
      else {
        const k = r.block?.kind ?? 'drop';
        code = k === 'drop' ? CODE.drop : k === 'return' ? CODE.ret : k === 'return-rst' ? CODE.retRst : CODE.retIcmp;
      }
      // The decision, "a rule matched" for every quick anchor around, and the rule's tag.
      return [join(cond, this.tagSet(r, MARK_CODE, MARK_MATCHED | code).trimEnd())];
    }
    const tag = this.tagSet(r, 0, 0);
    if (r.action === 'pass') return [join(cond, `${tag}${r.keepState === 'none' ? 'accept' : `ct mark set ct mark | ${hex(CT_STATE)} accept`}`)];
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
