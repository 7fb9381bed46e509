/**
 * Rules in pf's canonical form, as pfctl_parser.c's print_rule/print_pool/print_fromto and
 * pf_print_state.c's print_addr write them: `pfctl -s rules|nat` and `pfctl -v -f`.
 */
import { BITS } from './addr';
import type { Addr, PortSpec, Rule, Table, TableEntry } from './ast';
import { TCP_FLAGS } from './ast';
import { icmpCodeName, icmpTypeName } from './icmp';
import { IPPROTO_TCP, protoName, serviceName } from './services';

export interface PrintOptions {
  /** -P: ports as numbers. */
  numeric?: boolean;
}

const ACTION_WORDS: Record<Rule['action'], string> = {
  pass: 'pass',
  block: 'block',
  scrub: 'scrub',
  noscrub: 'no scrub',
  nat: 'nat',
  nonat: 'no nat',
  rdr: 'rdr',
  nordr: 'no rdr',
};

const ANCHOR_WORDS: Record<Rule['action'], string> = {
  pass: 'anchor',
  block: 'anchor',
  scrub: 'anchor',
  noscrub: 'anchor',
  nat: 'nat-anchor',
  nonat: 'nat-anchor',
  rdr: 'rdr-anchor',
  nordr: 'rdr-anchor',
};

export function printAddr(a: Addr): string {
  switch (a.type) {
    case 'any':
      return 'any';
    case 'addrmask':
      return a.prefix === BITS[a.af] ? a.addr : `${a.addr}/${a.prefix}`;
    case 'range':
      return `${a.from} - ${a.to}`;
    case 'table':
      return `<${a.name}>`;
    case 'dynif': {
      let s = `(${a.ifname}`;
      if (a.mode) s += `:${a.mode}`;
      if (a.noalias) s += ':0';
      s += ')';
      if (a.prefix !== undefined && a.prefix !== 32 && a.prefix !== 128) s += `/${a.prefix}`;
      return s;
    }
    case 'noroute':
      return 'no-route';
    case 'urpffailed':
      return 'urpf-failed';
  }
}

function printPort(p: PortSpec, proto: number | undefined, o: PrintOptions): string {
  const name = o.numeric ? undefined : serviceName(p.a, proto === IPPROTO_TCP ? 'tcp' : 'udp');
  const a1 = String(p.a);
  const a2 = String(p.b);
  let s = ' port';
  switch (p.op) {
    case 'eq':
      return `${s} = ${name ?? a1}`;
    case 'ne':
      return `${s} != ${name ?? a1}`;
    case 'lt':
      return `${s} < ${a1}`;
    case 'le':
      return `${s} <= ${a1}`;
    case 'gt':
      return `${s} > ${a1}`;
    case 'ge':
      return `${s} >= ${a1}`;
    case 'irg':
      return `${s} ${a1} >< ${a2}`;
    case 'xrg':
      return `${s} ${a1} <> ${a2}`;
    case 'rrg':
      s += ` ${a1}:${a2}`;
      return s;
  }
}

function flagsText(f: number): string {
  let s = '';
  for (let i = 0; i < TCP_FLAGS.length; i++) if (f & (1 << i)) s += TCP_FLAGS[i];
  return s;
}

function printFromTo(r: Rule, o: PrintOptions): string {
  if (r.src.addr.type === 'any' && r.dst.addr.type === 'any' && !r.src.neg && !r.dst.neg && !r.src.port && !r.dst.port) return ' all';
  let s = ' from ';
  if (r.src.neg) s += '! ';
  s += printAddr(r.src.addr);
  if (r.src.port) s += printPort(r.src.port, r.proto, o);
  s += ' to ';
  if (r.dst.neg) s += '! ';
  s += printAddr(r.dst.addr);
  if (r.dst.port) s += printPort(r.dst.port, r.proto, o);
  return s;
}

function printPool(r: Rule): string {
  const pool = r.pool;
  if (!pool) return '';
  let s = '';
  const hosts = pool.hosts.map(printAddr);
  s += hosts.length > 1 ? `{ ${hosts.join(', ')} }` : (hosts[0] ?? '');
  const [p1, p2] = pool.proxyPort;
  if (r.action === 'nat') {
    if ((p1 !== 50001 || p2 !== 65535) && (p1 !== 0 || p2 !== 0)) s += p1 === p2 ? ` port ${p1}` : ` port ${p1}:${p2}`;
  } else if (r.action === 'rdr') {
    if (p1) {
      s += ` port ${p1}`;
      if (p2 && p2 !== p1) s += `:${p2}`;
    }
  }
  if (pool.type !== 'none') s += ` ${pool.type}`;
  if (pool.sticky) s += ' sticky-address';
  if (r.action === 'nat' && p1 === 0 && p2 === 0) s += ' static-port';
  return s;
}

function blockText(r: Rule): string {
  const b = r.block ?? { kind: 'drop' };
  switch (b.kind) {
    case 'drop':
      return ' drop';
    case 'return':
      return ' return';
    case 'return-rst':
      return b.ttl ? ` return-rst(ttl ${b.ttl})` : ' return-rst';
    case 'return-icmp': {
      const c4 = icmpCodeName(3, b.icmp ?? 3, 4) ?? String(b.icmp ?? 3);
      const c6 = icmpCodeName(1, b.icmp6 ?? 4, 6) ?? String(b.icmp6 ?? 4);
      if (r.af === 4) return ` return-icmp(${c4})`;
      if (r.af === 6) return ` return-icmp6(${c6})`;
      return ` return-icmp(${c4}, ${c6})`;
    }
  }
}

/** print_rule: one rule, without the trailing newline. */
export function printRule(r: Rule, o: PrintOptions = {}): string {
  let s: string;
  if (r.anchor) s = `${ANCHOR_WORDS[r.action]} "${r.anchor.call}"`;
  else s = ACTION_WORDS[r.action] + (r.natpass ? ' pass' : '');
  if (r.action === 'block') s += blockText(r);
  if (r.direction) s += ` ${r.direction}`;
  if (r.log) s += ' log';
  if (r.quick) s += ' quick';
  if (r.ifname) s += r.ifnot ? ` on ! ${r.ifname}` : ` on ${r.ifname}`;
  if (r.af) s += r.af === 4 ? ' inet' : ' inet6';
  if (r.proto) s += ` proto ${protoName(r.proto) ?? r.proto}`;
  s += printFromTo(r, o);
  if (r.flags || r.flagset) s += ` flags ${flagsText(r.flags ?? 0)}/${flagsText(r.flagset ?? 0)}`;
  else if (r.action === 'pass' && (!r.proto || r.proto === IPPROTO_TCP) && !r.fragment && !r.anchor && r.keepState !== 'none') s += ' flags any';
  if (r.icmpType !== undefined) {
    const af = r.af === 6 ? 6 : 4;
    s += af === 4 ? ' icmp-type' : ' icmp6-type';
    s += ` ${icmpTypeName(r.icmpType, af) ?? r.icmpType}`;
    if (r.icmpCode !== undefined) s += ` code ${icmpCodeName(r.icmpType, r.icmpCode, af) ?? r.icmpCode}`;
  }
  if (r.keepState === 'none' && r.action === 'pass' && !r.anchor) s += ' no state';
  else if (r.keepState === 'keep') s += ' keep state';
  else if (r.keepState === 'modulate') s += ' modulate state';
  else if (r.keepState === 'synproxy') s += ' synproxy state';
  if (r.fragment) s += ' fragment';
  if (r.allowOpts) s += ' allow-opts';
  if (r.action === 'scrub') {
    if (r.scrubReassembleTcp) s += ' reassemble tcp';
    s += ' fragment reassemble';
  }
  if (r.label !== undefined) s += ` label "${r.label}"`;
  if (r.tag !== undefined) s += ` tag ${r.tag}`;
  if (r.tagged) s += `${r.tagged.neg ? ' !' : ''} tagged ${r.tagged.name}`;
  if (!r.anchor && (r.action === 'nat' || r.action === 'rdr')) s += ` -> ${printPool(r)}`;
  return s;
}

/** print_tabledef (pfctl -v -f). */
export function printTableDef(t: Table, hadAddrs: boolean): string {
  let s = `table <${t.name}>`;
  if (t.const) s += ' const';
  if (t.persist) s += ' persist';
  if (t.counters) s += ' counters';
  if (t.entries.length) s += ` {${t.entries.map((e) => ` ${e.neg ? '!' : ''}${e.prefix === BITS[e.af] ? e.addr : `${e.addr}/${e.prefix}`}`).join('')} }`;
  else if (hadAddrs) s += ' { }';
  return s;
}

/** print_addrx: one `-T show` line. */
export function printTableEntry(e: TableEntry): string {
  return `  ${e.neg ? '!' : ' '}${e.addr}${e.prefix < BITS[e.af] ? `/${e.prefix}` : ''}`;
}
