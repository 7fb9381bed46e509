/**
 * pf.conf parser: pfctl's parse.y grammar for the subset the emulator carries, with its
 * messages ("stdin:3: syntax error", "stdin:3: unknown protocol foo", ...) and its expansion of
 * lists into one rule per combination (expand_rule). Pure: the host's interfaces come in as data.
 *
 * Statements: macros, `table`, `set skip|block-policy|state-policy|require-order` (others
 * accepted without effect), `scrub` (printed, no effect), `nat`/`no nat`, `rdr`/`no rdr`
 * (with `pass`), `pass`/`block`, `anchor` (named, wildcard, inline `{ }`), `nat-anchor`,
 * `rdr-anchor`. Anything else of pf.conf is refused with a message naming it.
 */
import { BITS, type Family, formatIp, network, parseIp, parseV4Net, parseV6 } from './addr';
import {
  type Action,
  type Addr,
  type Af,
  type AnchorCall,
  type BlockPolicy,
  emptyRuleset,
  type Options,
  type Pool,
  type PoolType,
  type PortOp,
  type PortSpec,
  type Rule,
  type Ruleset,
  type Table,
  type TableEntry,
  TCP_FLAGS,
} from './ast';
import { type HostInfo, ifaLookup, findIface, isGroup, splitIfaceModifiers } from './hosts';
import { Lexer, type Token } from './lexer';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, portByName, protoByName } from './services';
import { ICMP_TYPES, ICMP6_TYPES, icmpCodeByName } from './icmp';

export interface ParseOptions {
  /** Anchor the rules load into ('' = main ruleset). */
  anchor: string;
  /** Name used in messages: "stdin" for "-", else the path. */
  filename: string;
  /** Host interfaces, for interface names used as addresses; asked for only when needed. */
  host: () => HostInfo;
  /** `-D macro=value` definitions. */
  macros?: Record<string, string>;
}

export interface ParsedAnchor {
  ruleset: Ruleset;
  tables: Table[];
}

export interface ParseResult {
  /** Content per anchor path: the target anchor, plus inline `anchor "x" { }` children. */
  anchors: Record<string, ParsedAnchor>;
  options: Options;
  /** stderr lines, in order. */
  errors: string[];
  /** True when the rules must not be loaded. */
  failed: boolean;
}

class SyntaxError_ extends Error {
  constructor(readonly line: number) {
    super('syntax error');
  }
}
/** A semantic error already reported: the statement is dropped. */
class Abort extends Error {}

type HostNode = { addr: Addr; af: Af; not: boolean };
type IfNode = { name: string; not: boolean };
type IcmpNode = { type: number; code?: number; proto: number };

interface FromTo {
  src: { hosts: HostNode[] | null; ports: PortSpec[] | null };
  dst: { hosts: HostNode[] | null; ports: PortSpec[] | null };
}

interface FilterOpts {
  flags?: { b1: number; b2: number };
  icmp?: IcmpNode[];
  keep?: Rule['keepState'];
  fragment?: boolean;
  allowOpts?: boolean;
  label?: string;
  tag?: string;
  tagged?: { name: string; neg: boolean };
}

const STATE_NONE = 0;
const STATE_OPTION = 1;
const STATE_SCRUB = 2;
const STATE_NAT = 4;
const STATE_FILTER = 5;

const NAT_PROXY_LOW = 50001;
const NAT_PROXY_HIGH = 65535;

export function parseRules(text: string, opts: ParseOptions): ParseResult {
  return new Parser(text, opts).run();
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  private readonly macros = new Map<string, string>();
  private readonly errors: string[] = [];
  private errorCount = 0;
  private rulestate = STATE_NONE;
  private requireOrder = true;
  private hostCache: HostInfo | undefined;
  private readonly result: ParseResult;
  /** Anchor the statements being read belong to. */
  private current: string;
  private blockPolicy: 'drop' | 'return' = 'drop';

  constructor(text: string, private readonly opts: ParseOptions) {
    for (const [k, v] of Object.entries(opts.macros ?? {})) this.macros.set(k, v);
    this.lexer = new Lexer(text, this.macros);
    this.current = opts.anchor;
    this.result = { anchors: { [opts.anchor]: { ruleset: emptyRuleset(), tables: [] } }, options: {}, errors: this.errors, failed: false };
    this.tok = this.lex();
  }

  private get hostInfo(): HostInfo {
    this.hostCache ??= this.opts.host();
    return this.hostCache;
  }

  private atEof(): boolean {
    return this.tok.t === 'eof';
  }

  private lex(): Token {
    const t = this.lexer.next();
    for (const e of this.lexer.errors.splice(0)) this.report(e.line, e.message);
    return t;
  }

  // ---- messages ---------------------------------------------------------------------------

  private report(line: number, message: string): void {
    this.errors.push(`${this.opts.filename}:${line}: ${message}`);
    this.errorCount++;
  }

  /** yyerror at the current token's line. */
  private yyerror(message: string): void {
    this.report(this.tok.line, message);
  }

  /** A message pfctl prints without a file:line prefix (fprintf in host() and friends). */
  private raw(message: string): void {
    this.errors.push(message);
  }

  private fail(message: string): never {
    this.yyerror(message);
    throw new Abort();
  }

  private unsupported(what: string): never {
    this.fail(`${what} is not supported by the emulated pfctl`);
  }

  // ---- tokens -----------------------------------------------------------------------------

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lex();
    return t;
  }

  private isCh(v: string): boolean {
    return this.tok.t === 'ch' && this.tok.v === v;
  }

  private isKw(v: string): boolean {
    return this.tok.t === 'kw' && this.tok.v === v;
  }

  private syntax(): never {
    throw new SyntaxError_(this.tok.line);
  }

  private expectCh(v: string): void {
    if (!this.isCh(v)) this.syntax();
    this.advance();
  }

  private expectKw(v: string): void {
    if (!this.isKw(v)) this.syntax();
    this.advance();
  }

  private acceptKw(v: string): boolean {
    if (this.isKw(v)) {
      this.advance();
      return true;
    }
    return false;
  }

  private acceptCh(v: string): boolean {
    if (this.isCh(v)) {
      this.advance();
      return true;
    }
    return false;
  }

  private string(): string {
    if (this.tok.t !== 'str') this.syntax();
    return (this.advance() as { v: string }).v;
  }

  /** numberstring: a NUMBER or a STRING, as text. */
  private numberString(): string {
    if (this.tok.t === 'num') return (this.advance() as { raw: string }).raw;
    return this.string();
  }

  private number(): number {
    if (this.tok.t !== 'num') this.syntax();
    return (this.advance() as { v: number }).v;
  }

  private optnl(): void {
    while (this.isCh('\n')) this.advance();
  }

  private comma(): void {
    this.acceptCh(',');
  }

  /** Reads a `{ item, item }` list or a single item. */
  private list<T>(item: () => T[]): T[] {
    if (this.acceptCh('{')) {
      this.optnl();
      const out: T[] = [];
      for (;;) {
        out.push(...item());
        this.optnl();
        if (this.acceptCh('}')) break;
        this.comma();
        this.optnl();
        if (this.acceptCh('}')) this.syntax();
      }
      return out;
    }
    return item();
  }

  // ---- driver -----------------------------------------------------------------------------

  run(): ParseResult {
    this.statements(false);
    this.result.failed = this.errorCount > 0;
    return this.result;
  }

  /** Reads statements until EOF (or '}' inside an inline anchor). */
  private statements(inBrace: boolean): void {
    for (;;) {
      if (this.tok.t === 'eof') {
        if (inBrace) this.report(this.tok.line, 'syntax error');
        return;
      }
      if (inBrace && this.isCh('}')) return;
      if (this.isCh('\n')) {
        this.advance();
        continue;
      }
      try {
        this.statement(inBrace);
        if (!this.atEof()) this.expectCh('\n');
      } catch (err) {
        if (err instanceof SyntaxError_) this.report(err.line, 'syntax error');
        else if (!(err instanceof Abort)) throw err;
        this.recover();
      }
    }
  }

  /** yacc's `ruleset error '\n'`: drop tokens up to the next newline. */
  private recover(): void {
    while (this.tok.t !== 'eof' && !this.isCh('\n')) this.advance();
    if (this.isCh('\n')) this.advance();
  }

  private checkState(desired: number): void {
    if (this.requireOrder && this.rulestate > desired) {
      this.fail('Rules must be in order: options, normalization, queueing, translation, filtering');
    }
    this.rulestate = desired;
  }

  private statement(inBrace: boolean): void {
    const t = this.tok;
    if (inBrace) {
      if (this.isKw('pass') || this.isKw('block')) return this.filterRule();
      if (this.isKw('anchor')) return this.anchorRule();
      this.syntax();
    }
    if (t.t === 'str' && !t.quoted) {
      // macro definition: STRING '=' varstring
      this.advance();
      if (!this.isCh('=')) this.syntax();
      this.advance();
      const parts: string[] = [this.numberString()];
      while (this.tok.t === 'str' || this.tok.t === 'num') parts.push(this.numberString());
      if (/\s/.test(t.v)) this.fail('macro name cannot contain whitespace');
      if (!this.macros.has(t.v) || !(t.v in (this.opts.macros ?? {}))) this.macros.set(t.v, parts.join(' '));
      return;
    }
    if (t.t === 'kw') {
      switch (t.v) {
        case 'set':
          return this.option();
        case 'table':
          return this.tableDef();
        case 'scrub':
          return this.scrubRule(false);
        case 'nat':
        case 'rdr':
          return this.natRule(false);
        case 'no':
          this.advance();
          if (this.isKw('nat') || this.isKw('rdr')) return this.natRule(true);
          if (this.isKw('scrub')) return this.scrubRule(true);
          if (this.isKw('binat')) this.unsupported('binat');
          this.syntax();
        // falls through (never reached)
        case 'pass':
        case 'block':
          return this.filterRule();
        case 'anchor':
        case 'nat-anchor':
        case 'rdr-anchor':
          return this.anchorRule();
        case 'binat':
        case 'binat-anchor':
          this.unsupported(t.v);
        // falls through
        case 'antispoof':
        case 'altq':
        case 'queue':
        case 'load':
        case 'include':
          this.unsupported(`"${t.v}"`);
        // falls through
        default:
          this.syntax();
      }
    }
    if (this.isCh('{')) this.unsupported('a brace anchor at top level');
    this.syntax();
  }

  private target(path = this.current): ParsedAnchor {
    return (this.result.anchors[path] ??= { ruleset: emptyRuleset(), tables: [] });
  }

  // ---- options ----------------------------------------------------------------------------

  private option(): void {
    this.expectKw('set');
    this.checkState(STATE_OPTION);
    const main = this.opts.anchor === '' && this.current === '';
    if (this.acceptKw('skip')) {
      this.expectKw('on');
      const ifs = this.list(() => [this.ifItem()]);
      const names: string[] = [];
      for (const i of ifs) {
        if (i.not) this.fail('skip on ! <interface> is not supported');
        if (i.name !== 'none') names.push(i.name);
      }
      if (main) this.result.options.skip = [...(this.result.options.skip ?? []), ...names];
      return;
    }
    if (this.acceptKw('block-policy')) {
      if (this.acceptKw('drop')) this.blockPolicy = 'drop';
      else if (this.acceptKw('return')) this.blockPolicy = 'return';
      else this.syntax();
      if (main) this.result.options.blockPolicy = this.blockPolicy;
      return;
    }
    if (this.acceptKw('state-policy')) {
      let p: 'if-bound' | 'floating';
      if (this.acceptKw('if-bound')) p = 'if-bound';
      else if (this.acceptKw('floating')) p = 'floating';
      else this.syntax();
      if (main) this.result.options.statePolicy = p;
      return;
    }
    if (this.acceptKw('require-order')) {
      if (this.acceptKw('no')) this.requireOrder = false;
      else {
        const v = this.string();
        if (v !== 'yes') this.fail(`invalid value '${v}', expected 'yes' or 'no'`);
        this.requireOrder = true;
      }
      return;
    }
    const known = ['optimization', 'ruleset-optimization', 'timeout', 'limit', 'loginterface', 'hostid', 'debug', 'fingerprints', 'reassemble', 'fail-policy', 'state-defaults', 'keepcounters', 'syncookies'];
    const word = this.tok.t === 'kw' || this.tok.t === 'str' ? this.tok.v : '';
    if (!known.includes(word)) this.syntax();
    // Accepted without effect: consume to the end of the statement, braces included.
    let depth = 0;
    while (this.tok.t !== 'eof' && !(depth === 0 && this.isCh('\n'))) {
      if (this.isCh('{') || this.isCh('(')) depth++;
      if (this.isCh('}') || this.isCh(')')) depth--;
      this.advance();
    }
  }

  // ---- tables -----------------------------------------------------------------------------

  private tableDef(): void {
    this.expectKw('table');
    this.expectCh('<');
    const name = this.string();
    this.expectCh('>');
    const table: Table = { name, persist: false, const: false, counters: false, entries: [] };
    for (;;) {
      if (this.tok.t === 'str') {
        const o = this.string();
        if (o === 'const') table.const = true;
        else if (o === 'persist') table.persist = true;
        else if (o === 'counters') table.counters = true;
        else this.fail(`invalid table option '${o}'`);
        continue;
      }
      if (this.acceptCh('{')) {
        table.initAddr = true;
        this.optnl();
        if (this.acceptCh('}')) continue;
        const hosts: HostNode[] = [];
        for (;;) {
          const h = this.ipspec();
          if (h) hosts.push(...h);
          this.optnl();
          if (this.acceptCh('}')) break;
          this.comma();
          this.optnl();
        }
        for (const h of hosts) {
          const a = h.addr;
          if (a.type === 'addrmask') {
            table.entries.push({ af: a.af, addr: a.addr, prefix: a.prefix, neg: h.not });
            continue;
          }
          if (a.type === 'any') this.fail('syntax error');
          if (a.type === 'range') this.fail('address ranges are not permitted inside tables');
          if (a.type === 'dynif') this.fail('dynamic addresses are not permitted inside tables');
          if (a.type === 'table') this.fail('tables cannot contain tables');
          if (a.type === 'noroute') this.fail('"no-route" is not permitted inside tables');
          this.fail('"urpf-failed" is not permitted inside tables');
        }
        continue;
      }
      if (this.acceptKw('file')) this.unsupported('table file');
      break;
    }
    if (name.length >= 32) this.fail('table name too long, max 31 chars');
    const tgt = this.target();
    tgt.tables = tgt.tables.filter((t) => t.name !== name);
    tgt.tables.push(table);
  }

  // ---- addresses --------------------------------------------------------------------------

  /** ipspec: any | xhost | { host_list }; null for any. */
  private ipspec(): HostNode[] | null {
    if (this.acceptKw('any')) return null;
    if (this.acceptCh('{')) {
      this.optnl();
      let out: HostNode[] | null = null;
      for (;;) {
        const h = this.ipspec();
        if (h !== null) out = [...(out ?? []), ...h];
        this.optnl();
        if (this.acceptCh('}')) break;
        this.comma();
        this.optnl();
      }
      return out;
    }
    return this.xhost();
  }

  private xhost(): HostNode[] {
    const not = this.acceptCh('!');
    if (this.acceptKw('no-route')) return [{ addr: { type: 'noroute' }, af: 0, not }];
    if (this.acceptKw('urpf-failed')) return [{ addr: { type: 'urpffailed' }, af: 0, not }];
    return this.host().map((h) => ({ ...h, not }));
  }

  private host(): Array<{ addr: Addr; af: Af }> {
    if (this.acceptCh('<')) {
      const name = this.string();
      this.expectCh('>');
      if (name.length >= 32) this.fail(`table name '${name}' too long`);
      return [{ addr: { type: 'table', name }, af: 0 }];
    }
    if (this.acceptCh('(')) {
      const spec = this.string();
      this.expectCh(')');
      const dyn = this.dynaddr(spec);
      if (this.acceptCh('/')) {
        const bits = this.number();
        if (bits < 0 || bits > 128) this.fail('bit number too big');
        dyn.prefix = bits;
      }
      return [{ addr: dyn, af: 0 }];
    }
    if (this.tok.t === 'num') {
      const a = this.advance() as { raw: string };
      this.expectCh('/');
      const bits = this.number();
      return this.resolveHost(`${a.raw}/${bits}`);
    }
    const s = this.string();
    if (this.acceptCh('-')) {
      const e = this.string();
      const b = parseIp(s);
      const en = parseIp(e);
      if (!b || !en || b.af !== en.af) {
        if (!b) this.raw(`no IP address found for ${s}`);
        else if (!en) this.raw(`no IP address found for ${e}`);
        this.fail(b && en ? 'invalid address range' : 'could not parse host specification');
      }
      return [{ addr: { type: 'range', af: b.af, from: formatIp(b), to: formatIp(en) }, af: b.af }];
    }
    if (this.acceptCh('/')) {
      const bits = this.number();
      return this.resolveHost(`${s}/${bits}`);
    }
    return this.resolveHost(s);
  }

  private dynaddr(spec: string): Extract<Addr, { type: 'dynif' }> {
    if (!/^[A-Za-z]/.test(spec)) this.fail(`invalid interface name '${spec}'`);
    let name = spec;
    const flags: { network?: boolean; broadcast?: boolean; peer?: boolean; noalias?: boolean } = {};
    for (;;) {
      const i = name.lastIndexOf(':');
      if (i < 0) break;
      const m = name.slice(i + 1);
      if (m === 'network') flags.network = true;
      else if (m === 'broadcast') flags.broadcast = true;
      else if (m === 'peer') flags.peer = true;
      else if (m === '0') flags.noalias = true;
      else this.fail(`interface ${spec} has bad modifier`);
      name = name.slice(0, i);
    }
    if ([flags.network, flags.broadcast, flags.peer].filter(Boolean).length > 1) this.fail('illegal combination of interface modifiers');
    if (name.length > 15) this.fail('interface name too long');
    const d: Extract<Addr, { type: 'dynif' }> = { type: 'dynif', ifname: name };
    if (flags.network) d.mode = 'network';
    if (flags.broadcast) d.mode = 'broadcast';
    if (flags.peer) d.mode = 'peer';
    if (flags.noalias) d.noalias = true;
    return d;
  }

  /** pfctl's host(): an address, a network, an interface or group name, "self". No DNS. */
  private resolveHost(s: string): Array<{ addr: Addr; af: Af }> {
    let mask = -1;
    let base = s;
    const slash = s.lastIndexOf('/');
    if (slash >= 0) {
      const m = s.slice(slash + 1);
      if (!/^\d+$/.test(m) || Number(m) > 128) {
        this.raw(`invalid netmask '${s.slice(slash)}'`);
        this.fail('could not parse host specification');
      }
      mask = Number(m);
      base = s.slice(0, slash);
    }
    const v4 = slash >= 0 ? parseV4Net(base) : parseIp(base)?.af === 4 ? parseIp(base)!.v : null;
    if (v4 !== null) {
      const prefix = mask < 0 ? 32 : mask;
      if (prefix > 32) {
        // inet_net_pton refuses it; no other reading of the text succeeds either
        this.raw(`no IP address found for ${s}`);
        this.fail('could not parse host specification');
      }
      return [{ addr: { type: 'addrmask', af: 4, addr: formatIp({ af: 4, v: network(4, v4, prefix) }), prefix }, af: 4 }];
    }
    const v6 = parseV6(base);
    if (v6 !== null) {
      const prefix = mask < 0 ? 128 : mask;
      return [{ addr: { type: 'addrmask', af: 6, addr: formatIp({ af: 6, v: network(6, v6, prefix) }), prefix }, af: 6 }];
    }
    // interface (with modifiers) or self
    const spec = splitIfaceModifiers(base);
    const { name, flags } = spec ?? { name: '', flags: {} };
    if (spec && (name === 'self' || findIface(this.hostInfo, name) || isGroup(this.hostInfo, name))) {
      if ((flags.mode === 'network' || flags.mode === 'broadcast') && mask > -1) {
        this.raw('network or broadcast lookup, but extra netmask given');
        this.fail('could not parse host specification');
      }
      const addrs = ifaLookup(this.hostInfo, name === 'self' ? null : name, flags);
      if (addrs.length === 0) {
        this.raw(`no IP address found for ${s}`);
        this.fail('could not parse host specification');
      }
      return addrs.map((a) => {
        const prefix = mask > -1 ? mask : a.prefix;
        return { addr: { type: 'addrmask', af: a.af, addr: formatIp({ af: a.af, v: network(a.af, a.v, prefix) }), prefix }, af: a.af };
      });
    }
    this.raw(`no IP address found for ${s}`);
    this.fail('could not parse host specification');
  }

  // ---- ports ------------------------------------------------------------------------------

  private getservice(n: string): number {
    if (/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.test(n)) {
      const v = Number(n);
      if (v > 65535) this.fail(`illegal port value ${v}`);
      return v;
    }
    const p = portByName(n);
    if (p === undefined) this.fail(`unknown port ${n}`);
    return p;
  }

  /** parseport(): "80", "www", "8000:8010" and, with star, "8000:*". */
  private parsePort(s: string, star: boolean): { a: number; b: number; t: 'none' | 'rrg' | 'irg' } {
    const i = s.indexOf(':');
    if (i < 0) return { a: this.getservice(s), b: 0, t: 'none' };
    const hi = s.slice(i + 1);
    if (star && hi === '*') return { a: this.getservice(s.slice(0, i)), b: 0, t: 'irg' };
    const a = this.getservice(s.slice(0, i));
    const b = this.getservice(hi);
    return a === b ? { a, b: 0, t: 'none' } : { a, b, t: 'rrg' };
  }

  private portItem(): PortSpec[] {
    const unary = this.unaryOp();
    const r = this.parsePort(this.numberString(), false);
    if (unary) {
      if (r.t !== 'none') this.fail("':' cannot be used with an other port operator");
      return [{ op: unary, a: r.a, b: r.b }];
    }
    if (this.tok.t === 'portbin') {
      const op = (this.advance() as { v: 'irg' | 'xrg' }).v;
      const r2 = this.parsePort(this.numberString(), false);
      if (r.t !== 'none' || r2.t !== 'none') this.fail("':' cannot be used with an other port operator");
      return [{ op, a: r.a, b: r2.a }];
    }
    return [{ op: r.t === 'rrg' ? 'rrg' : 'eq', a: r.a, b: r.b }];
  }

  private unaryOp(): PortOp | null {
    if (this.acceptCh('=')) return 'eq';
    if (this.isCh('!')) {
      this.advance();
      this.expectCh('=');
      return 'ne';
    }
    if (this.acceptCh('<')) return this.acceptCh('=') ? 'le' : 'lt';
    if (this.acceptCh('>')) return this.acceptCh('=') ? 'ge' : 'gt';
    return null;
  }

  private portspec(): PortSpec[] {
    return this.list(() => this.portItem());
  }

  // ---- rule parts -------------------------------------------------------------------------

  private ifItem(): IfNode {
    const not = this.acceptCh('!');
    const name = this.string();
    if (name.length > 15) this.fail('interface name too long');
    return { name, not };
  }

  private interfaces(): IfNode[] | null {
    if (!this.acceptKw('on')) return null;
    return this.list(() => [this.ifItem()]);
  }

  private af(): Af {
    if (this.acceptKw('inet')) return 4;
    if (this.acceptKw('inet6')) return 6;
    return 0;
  }

  private protoItem(): number[] {
    let p: number;
    if (this.tok.t === 'num') {
      p = this.number();
      if (p < 0 || p > 255) this.fail('protocol outside range');
    } else {
      const name = this.string();
      const v = protoByName(name);
      if (v === undefined) this.fail(`unknown protocol ${name}`);
      p = v;
    }
    if (p === 0) this.fail('proto 0 cannot be used');
    return [p];
  }

  private protos(): number[] | null {
    if (!this.acceptKw('proto')) return null;
    return this.list(() => this.protoItem());
  }

  private ipportspec(): { hosts: HostNode[] | null; ports: PortSpec[] | null } {
    if (this.acceptKw('port')) return { hosts: null, ports: this.portspec() };
    const hosts = this.ipspec();
    const ports = this.acceptKw('port') ? this.portspec() : null;
    return { hosts, ports };
  }

  private fromTo(): FromTo {
    if (this.acceptKw('all')) return { src: { hosts: null, ports: null }, dst: { hosts: null, ports: null } };
    const src = this.acceptKw('from') ? this.ipportspec() : { hosts: null, ports: null };
    if (this.isKw('os')) this.unsupported('os fingerprinting');
    let dst: { hosts: HostNode[] | null; ports: PortSpec[] | null } = { hosts: null, ports: null };
    if (this.acceptKw('to')) {
      dst = this.ipportspec();
      if (dst.hosts?.some((h) => h.addr.type === 'urpffailed')) this.fail('"urpf-failed" is not permitted in a destination address');
    }
    return { src, dst };
  }

  private flag(): number {
    const s = this.string();
    let f = 0;
    for (const c of s) {
      const i = TCP_FLAGS.indexOf(c);
      if (i < 0) this.fail(`bad flags ${s}`);
      f |= 1 << i;
    }
    return f || 0xff;
  }

  private icmpItem(af: 4 | 6): IcmpNode[] {
    const proto = af === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    const names = af === 4 ? ICMP_TYPES : ICMP6_TYPES;
    let type: number;
    if (this.tok.t === 'num') {
      type = this.number();
      if (type < 0 || type > 255) this.fail(`illegal ${af === 4 ? 'icmp' : 'icmp6'}-type ${type}`);
    } else {
      const n = this.string();
      const v = names[n];
      if (v === undefined) this.fail(`unknown ${af === 4 ? 'icmp' : 'icmp6'}-type ${n}`);
      type = v;
    }
    if (this.acceptKw('code')) {
      let code: number;
      if (this.tok.t === 'num') {
        code = this.number();
        if (code < 0 || code > 255) this.fail(`illegal icmp-code ${code}`);
      } else {
        const n = this.string();
        const v = icmpCodeByName(type, n, af);
        if (v === undefined) this.fail(`unknown ${af === 4 ? 'icmp' : 'icmp6'}-code ${n}`);
        code = v;
      }
      return [{ type, code, proto }];
    }
    return [{ type, proto }];
  }

  private filterOpts(anchor: boolean): FilterOpts {
    const o: FilterOpts = {};
    for (;;) {
      if (this.isKw('user') || this.isKw('group')) this.unsupported(`"${this.tok.t === 'kw' ? this.tok.v : ''}" matching`);
      if (this.acceptKw('flags')) {
        if (o.flags) this.fail('flags cannot be redefined');
        if (this.acceptKw('any')) o.flags = { b1: 0, b2: 0 };
        else if (this.acceptCh('/')) o.flags = { b1: 0, b2: this.flag() };
        else {
          const b1 = this.flag();
          this.expectCh('/');
          o.flags = { b1, b2: this.flag() };
        }
        continue;
      }
      if (this.isKw('icmp-type') || this.isKw('icmp6-type')) {
        const af = this.isKw('icmp-type') ? 4 : 6;
        this.advance();
        if (o.icmp) this.fail('icmp-type cannot be redefined');
        o.icmp = this.list(() => this.icmpItem(af));
        continue;
      }
      if (this.isKw('keep') || this.isKw('modulate') || this.isKw('synproxy') || this.isKw('no')) {
        if (o.keep) this.fail('modulate or keep cannot be redefined');
        const w = (this.advance() as { v: string }).v;
        this.expectKw('state');
        if (this.isCh('(')) this.unsupported('state options');
        o.keep = w === 'no' ? 'none' : w === 'keep' ? 'keep' : w === 'modulate' ? 'modulate' : 'synproxy';
        continue;
      }
      if (this.acceptKw('fragment')) {
        o.fragment = true;
        continue;
      }
      if (this.acceptKw('allow-opts')) {
        o.allowOpts = true;
        continue;
      }
      if (this.acceptKw('label')) {
        if (o.label !== undefined) this.fail('label cannot be redefined');
        o.label = this.string();
        continue;
      }
      if (this.acceptKw('tag')) {
        o.tag = this.string();
        continue;
      }
      if (this.isCh('!') || this.isKw('tagged')) {
        const neg = this.acceptCh('!');
        this.expectKw('tagged');
        o.tagged = { name: this.string(), neg };
        continue;
      }
      for (const kw of ['tos', 'queue', 'probability', 'rtable', 'prio', 'divert-to', 'divert-reply', 'max-mss', 'set']) {
        if (this.isKw(kw)) this.unsupported(`"${kw}"`);
      }
      break;
    }
    if (anchor && o.keep) this.fail('cannot specify state handling on anchors');
    return o;
  }

  // ---- anchors ----------------------------------------------------------------------------

  /** pf_anchor_setup: the anchor path a name refers to from the current anchor. */
  private anchorCall(name: string): AnchorCall {
    let path: string;
    let rest = name;
    if (rest.startsWith('/')) path = rest.slice(1);
    else {
      path = this.current;
      while (rest.startsWith('../')) {
        if (!path) this.fail(`anchor path "${name}" goes beyond the root`);
        const i = path.lastIndexOf('/');
        path = i >= 0 ? path.slice(0, i) : '';
        rest = rest.slice(3);
      }
      path = path ? `${path}/${rest}` : rest;
    }
    let wildcard = false;
    if (path.endsWith('/*')) {
      wildcard = true;
      path = path.slice(0, -2);
    }
    return { call: name, path, wildcard };
  }

  private anchorRule(): void {
    const kind = (this.advance() as { v: string }).v as 'anchor' | 'nat-anchor' | 'rdr-anchor';
    let name: string | null = null;
    if (this.tok.t === 'str') name = this.string();
    else if (kind !== 'anchor') this.syntax();
    if (kind === 'anchor') {
      const direction = this.direction();
      const quick = this.acceptKw('quick');
      const ifs = this.interfaces();
      const af = this.af();
      const protos = this.protos();
      const ft = this.fromTo();
      const fo = this.filterOpts(true);
      let inline = false;
      if (this.isCh('{')) inline = true;
      this.checkState(STATE_FILTER);
      if (name && (name.startsWith('_') || name.includes('/_'))) this.fail("anchor names beginning with '_' are reserved for internal use");
      if (!name) {
        if (inline) this.unsupported('an unnamed inline anchor');
        this.fail('anchors without explicit rules must specify a name');
      }
      const call = this.anchorCall(name);
      if (inline) {
        if (call.wildcard) this.fail('inline anchors cannot be wildcards');
        this.advance();
        this.expectCh('\n');
        const saved = this.current;
        this.current = call.path;
        this.target(call.path);
        this.statements(true);
        this.current = saved;
        this.expectCh('}');
      }
      if (fo.flags && protos && !protos.includes(IPPROTO_TCP)) this.fail('flags only apply to tcp');
      const base: Rule = this.baseRule('pass', af);
      if (direction) base.direction = direction;
      base.quick = quick;
      if (fo.flags) {
        base.flags = fo.flags.b1;
        base.flagset = fo.flags.b2;
      }
      this.applyLabels(base, fo);
      base.anchor = call;
      const hosts = this.decideAf(base, ft);
      this.expand(base, 'filter', { ifs, protos, ft: hosts, icmp: fo.icmp ?? null, anchor: true });
      return;
    }
    const ifs = this.interfaces();
    const af = this.af();
    const protos = this.protos();
    const ft = this.fromTo();
    if (this.isKw('rtable')) this.unsupported('"rtable"');
    this.checkState(STATE_NAT);
    const base = this.baseRule(kind === 'nat-anchor' ? 'nat' : 'rdr', af);
    base.anchor = this.anchorCall(name as string);
    if (kind === 'rdr-anchor') {
      if (ft.src.ports) this.fail('source port parameter not supported in rdr-anchor');
      if (ft.dst.ports) {
        if (ft.dst.ports.length > 1) this.fail('destination port list expansion not supported in rdr-anchor');
        if ((ft.dst.ports[0] as PortSpec).op !== 'eq') this.fail('destination port operators not supported in rdr-anchor');
      }
    }
    const hosts = this.decideAf(base, ft);
    this.expand(base, kind === 'nat-anchor' ? 'nat' : 'rdr', { ifs, protos, ft: hosts, icmp: null, anchor: true });
  }

  private decideAf(base: Rule, ft: FromTo): FromTo {
    const decide = (hosts: HostNode[] | null) => {
      if (base.af !== 0 || hosts === null || hosts.length === 0) return;
      const first = (hosts[0] as HostNode).af;
      base.af = hosts.every((h) => h.af === first) ? first : 0;
    };
    decide(ft.src.hosts);
    decide(ft.dst.hosts);
    return ft;
  }

  private direction(): 'in' | 'out' | undefined {
    if (this.acceptKw('in')) return 'in';
    if (this.acceptKw('out')) return 'out';
    return undefined;
  }

  private baseRule(action: Action, af: Af): Rule {
    return { action, log: false, quick: false, af, src: { addr: { type: 'any' }, neg: false }, dst: { addr: { type: 'any' }, neg: false }, keepState: 'none' };
  }

  private applyLabels(r: Rule, fo: FilterOpts): void {
    if (fo.label !== undefined) {
      if (fo.label.length >= 64) this.fail('rule label too long (max 63 chars)');
      r.label = fo.label;
    }
    if (fo.tag !== undefined) {
      if (fo.tag.length >= 64) this.fail('tag too long, max 63 chars');
      r.tag = fo.tag;
    }
    if (fo.tagged) r.tagged = fo.tagged;
  }

  private logquick(): { log: boolean; quick: boolean } {
    let log = false;
    let quick = false;
    for (let i = 0; i < 2; i++) {
      if (this.acceptKw('log')) {
        if (this.isCh('(')) this.unsupported('log options');
        log = true;
      } else if (this.acceptKw('quick')) quick = true;
    }
    return { log, quick };
  }

  // ---- filter rules -----------------------------------------------------------------------

  private filterRule(): void {
    const pass = this.isKw('pass');
    this.advance();
    let block: BlockPolicy | undefined;
    if (!pass) {
      if (this.acceptKw('drop')) block = { kind: 'drop' };
      else if (this.acceptKw('return-rst')) {
        block = { kind: 'return-rst' };
        if (this.acceptCh('(')) {
          this.expectKw('ttl');
          const ttl = this.number();
          if (ttl < 0 || ttl > 255) this.fail(`illegal ttl value ${ttl}`);
          this.expectCh(')');
          block.ttl = ttl;
        }
      } else if (this.isKw('return-icmp') || this.isKw('return-icmp6')) {
        this.advance();
        if (this.isCh('(')) this.unsupported('return-icmp codes');
        block = { kind: 'return-icmp' };
      } else if (this.acceptKw('return')) block = { kind: 'return' };
      else block = { kind: this.blockPolicy };
    }
    const direction = this.direction();
    const lq = this.logquick();
    const ifs = this.interfaces();
    if (this.isKw('route-to') || this.isKw('reply-to') || this.isKw('dup-to')) this.unsupported(`"${(this.tok as { v: string }).v}"`);
    this.acceptKw('fastroute');
    const af = this.af();
    const protos = this.protos();
    const ft = this.fromTo();
    const fo = this.filterOpts(false);
    this.checkState(STATE_FILTER);

    const r = this.baseRule(pass ? 'pass' : 'block', af);
    if (block) r.block = block;
    if (direction) r.direction = direction;
    r.log = lq.log;
    r.quick = lq.quick;
    this.applyLabels(r, fo);
    if (fo.flags) {
      if ((fo.flags.b1 & fo.flags.b2) !== fo.flags.b1) this.fail('flags always false');
      if (protos && !protos.includes(IPPROTO_TCP)) this.fail('flags only apply to tcp');
      r.flags = fo.flags.b1;
      r.flagset = fo.flags.b2;
    }
    r.keepState = fo.keep ?? (pass ? 'keep' : 'none');
    if (pass && r.keepState !== 'none' && !fo.flags && !fo.fragment) {
      r.flags = 0x02;
      r.flagset = 0x12;
    }
    if (fo.fragment) r.fragment = true;
    if (fo.allowOpts) r.allowOpts = true;
    this.expand(r, 'filter', { ifs, protos, ft, icmp: fo.icmp ?? null, anchor: false });
  }

  private scrubRule(no: boolean): void {
    this.expectKw('scrub');
    const direction = this.direction();
    const lq = this.logquick();
    if (lq.quick) this.fail("scrub rules do not support 'quick'");
    const ifs = this.interfaces();
    const af = this.af();
    const protos = this.protos();
    const ft = this.fromTo();
    let reassembleTcp = false;
    for (;;) {
      if (this.acceptKw('fragment')) {
        if (!(this.acceptKw('reassemble') || this.acceptKw('crop') || this.acceptKw('drop-ovl'))) this.syntax();
        continue;
      }
      if (this.acceptKw('reassemble')) {
        const s = this.string();
        if (s !== 'tcp') this.fail(`scrub reassemble supports only tcp, not '${s}'`);
        reassembleTcp = true;
        continue;
      }
      if (this.acceptKw('no-df') || this.acceptKw('random-id')) continue;
      if (this.acceptKw('min-ttl') || this.acceptKw('max-mss')) {
        this.number();
        continue;
      }
      break;
    }
    this.checkState(STATE_SCRUB);
    const r = this.baseRule(no ? 'noscrub' : 'scrub', af);
    if (direction) r.direction = direction;
    r.log = lq.log;
    if (reassembleTcp) r.scrubReassembleTcp = true;
    this.expand(r, 'scrub', { ifs, protos, ft, icmp: null, anchor: false });
  }

  // ---- nat / rdr --------------------------------------------------------------------------

  private natRule(no: boolean): void {
    const kind = (this.advance() as { v: string }).v as 'nat' | 'rdr';
    let natpass = false;
    let log = false;
    if (this.acceptKw('pass')) {
      natpass = true;
      if (this.acceptKw('log')) log = true;
    } else if (this.acceptKw('log')) log = true;
    if (no && natpass) this.fail('"pass" not valid with "no"');
    const ifs = this.interfaces();
    const af = this.af();
    const protos = this.protos();
    const ft = this.fromTo();
    let tag: string | undefined;
    let tagged: { name: string; neg: boolean } | undefined;
    if (this.acceptKw('tag')) tag = this.string();
    if (this.isCh('!') || this.isKw('tagged')) {
      const neg = this.acceptCh('!');
      this.expectKw('tagged');
      tagged = { name: this.string(), neg };
    }
    if (this.isKw('rtable')) this.unsupported('"rtable"');
    let redir: { hosts: HostNode[]; rport: { a: number; b: number; t: 'none' | 'rrg' | 'irg' } } | null = null;
    if (this.tok.t === 'arrow') {
      this.advance();
      let hosts: HostNode[];
      if (this.acceptCh('{')) {
        this.optnl();
        hosts = [];
        for (;;) {
          hosts.push(...this.host().map((h) => ({ ...h, not: false })));
          this.optnl();
          if (this.acceptCh('}')) break;
          this.comma();
          this.optnl();
        }
      } else hosts = this.host().map((h) => ({ ...h, not: false }));
      let rport = { a: 0, b: 0, t: 'none' as 'none' | 'rrg' | 'irg' };
      if (this.acceptKw('port')) rport = this.parsePort(this.numberString(), true);
      redir = { hosts, rport };
    }
    let poolType: PoolType = 'none';
    let sticky = false;
    let staticPort = false;
    for (;;) {
      const setType = (t: PoolType) => {
        if (poolType !== 'none') this.fail('pool type cannot be redefined');
        poolType = t;
      };
      if (this.acceptKw('bitmask')) setType('bitmask');
      else if (this.acceptKw('random')) setType('random');
      else if (this.acceptKw('round-robin')) setType('round-robin');
      else if (this.acceptKw('source-hash')) {
        setType('source-hash');
        if (this.tok.t === 'str') this.advance();
      } else if (this.acceptKw('static-port')) {
        if (staticPort) this.fail('static-port cannot be redefined');
        staticPort = true;
      } else if (this.acceptKw('sticky-address')) sticky = true;
      else break;
    }
    this.checkState(STATE_NAT);
    const action: Action = no ? (kind === 'nat' ? 'nonat' : 'nordr') : kind;
    const r = this.baseRule(action, af);
    if (natpass) r.natpass = true;
    r.log = log;
    if (tag !== undefined) r.tag = tag;
    if (tagged) r.tagged = tagged;
    if (!r.af) {
      const s0 = ft.src.hosts?.[0];
      const d0 = ft.dst.hosts?.[0];
      if (s0 && s0.af) r.af = s0.af;
      else if (d0 && d0.af) r.af = d0.af;
    }
    if (no) {
      if (redir) this.fail("translation rule with 'no' does not need '->'");
    } else {
      if (!redir || redir.hosts.length === 0) this.fail("translation rule requires '-> address'");
      let hosts = redir.hosts;
      if (!r.af && (hosts[0] as HostNode).af) r.af = (hosts[0] as HostNode).af;
      // remove_invalid_hosts
      const kept: HostNode[] = [];
      for (const h of hosts) {
        if (r.af && h.af && h.af !== r.af) continue;
        if (h.af && !r.af) r.af = h.af;
        kept.push(h);
      }
      hosts = kept;
      if (!r.af) {
        for (const h of hosts) {
          if (h.addr.type !== 'table' && h.addr.type !== 'dynif') this.fail('address family not given and translation address expands to multiple address families');
        }
      }
      if (hosts.length === 0) this.fail('no translation address with matching address family found.');
      for (const h of hosts) {
        if (r.af === 4 && h.addr.type === 'addrmask' && h.addr.prefix > 32) {
          this.raw(`netmask ${h.addr.prefix} invalid for IPv4 address`);
          throw new Abort();
        }
      }
      const proxy: [number, number] = [redir.rport.a, 0];
      if (kind === 'rdr') {
        const dp = ft.dst.ports?.[0];
        if (!redir.rport.b && redir.rport.t !== 'none' && dp) proxy[1] = redir.rport.a + ((dp.b || dp.a) - dp.a);
        else proxy[1] = redir.rport.b;
      } else {
        proxy[1] = redir.rport.b;
        if (!proxy[0] && !proxy[1]) {
          proxy[0] = NAT_PROXY_LOW;
          proxy[1] = NAT_PROXY_HIGH;
        } else if (!proxy[1]) proxy[1] = proxy[0];
      }
      const first = hosts[0] as HostNode;
      if (poolType === 'none' && (hosts.length > 1 || first.addr.type === 'table' || dynifMultiAddr(first.addr))) poolType = 'round-robin';
      if (poolType !== 'round-robin') {
        const t = hosts.find((h) => h.addr.type === 'table');
        if (t) this.fail('tables are only supported in round-robin redirection pools');
        const d = hosts.find((h) => dynifMultiAddr(h.addr));
        if (d) this.fail(`interface (${(d.addr as { ifname: string }).ifname}) is only supported in round-robin redirection pools`);
        if (hosts.length > 1) this.fail('only round-robin valid for multiple redirection addresses');
      }
      if (staticPort) {
        if (kind !== 'nat') this.fail("the 'static-port' option is only valid with nat rules");
        if (proxy[0] !== NAT_PROXY_LOW && proxy[1] !== NAT_PROXY_HIGH) this.fail("the 'static-port' option can't be used when specifying a port range");
        proxy[0] = 0;
        proxy[1] = 0;
      }
      const pool: Pool = { hosts: hosts.map((h) => h.addr), proxyPort: proxy, type: poolType, sticky };
      r.pool = pool;
    }
    this.expand(r, kind, { ifs, protos, ft, icmp: null, anchor: false });
  }

  // ---- expansion --------------------------------------------------------------------------

  /** expand_rule: one rule per combination of the lists, skipping address-family mismatches. */
  private expand(
    base: Rule,
    list: keyof Ruleset,
    parts: { ifs: IfNode[] | null; protos: number[] | null; ft: FromTo; icmp: IcmpNode[] | null; anchor: boolean },
  ): void {
    const any: HostNode = { addr: { type: 'any' }, af: 0, not: false };
    const ifs: Array<IfNode | null> = parts.ifs ?? [null];
    const protos: Array<number | null> = parts.protos ?? [null];
    const icmps: Array<IcmpNode | null> = parts.icmp ?? [null];
    const srcs = parts.ft.src.hosts ?? [any];
    const dsts = parts.ft.dst.hosts ?? [any];
    const sports: Array<PortSpec | null> = parts.ft.src.ports ?? [null];
    const dports: Array<PortSpec | null> = parts.ft.dst.ports ?? [null];
    const out: Rule[] = [];
    let problems = false;
    for (const i of ifs)
      for (const p of protos)
        for (const ic of icmps)
          for (const s of srcs)
            for (const sp of sports)
              for (const d of dsts)
                for (const dp of dports) {
                  let af: Af = base.af;
                  if ((af && s.af && af !== s.af) || (af && d.af && af !== d.af) || (s.af && d.af && s.af !== d.af)) continue;
                  if (!af && s.af) af = s.af;
                  else if (!af && d.af) af = d.af;
                  const r: Rule = structuredClone(base);
                  r.af = af;
                  if (i) {
                    r.ifname = i.name;
                    if (i.not) r.ifnot = true;
                  }
                  if (p !== null) r.proto = p;
                  r.src = { addr: s.addr, neg: s.not };
                  if (sp) r.src.port = sp;
                  r.dst = { addr: d.addr, neg: d.not };
                  if (dp) r.dst.port = dp;
                  if (af === 4) {
                    for (const h of [s, d]) {
                      if (h.addr.type === 'addrmask' && h.addr.prefix > 32) {
                        this.raw(`netmask ${h.addr.prefix} invalid for IPv4 address`);
                        problems = true;
                      }
                    }
                  }
                  if (r.keepState === 'modulate' || r.keepState === 'synproxy') {
                    if (r.proto && r.proto !== IPPROTO_TCP) r.keepState = 'keep';
                  }
                  if (r.proto && r.proto !== IPPROTO_TCP) {
                    delete r.flags;
                    delete r.flagset;
                  }
                  if (ic) {
                    r.icmpType = ic.type;
                    if (ic.code !== undefined) r.icmpCode = ic.code;
                    if (r.proto !== ic.proto) {
                      this.report(this.tok.line, 'icmp-type mismatch');
                      problems = true;
                    }
                  }
                  if (this.consistent(r, list)) out.push(r);
                  else {
                    this.report(this.tok.line, 'skipping rule due to errors');
                  }
                }
    if (problems) throw new Abort();
    if (out.length === 0) {
      this.report(this.tok.line, 'rule expands to no valid combination');
      return;
    }
    const tgt = this.target();
    tgt.ruleset[list].push(...out);
  }

  private consistent(r: Rule, list: keyof Ruleset): boolean {
    const line = this.tok.line;
    let problems = 0;
    const err = (m: string) => {
      this.report(line, m);
      problems++;
    };
    if (list === 'filter' || list === 'scrub') {
      if (r.proto !== IPPROTO_TCP && r.proto !== IPPROTO_UDP && (r.src.port || r.dst.port)) err('port only applies to tcp/udp');
      if (r.proto !== IPPROTO_ICMP && r.proto !== IPPROTO_ICMPV6 && r.icmpType !== undefined) err('icmp-type/code only applies to icmp');
      if (!r.af && r.icmpType !== undefined) err('must indicate address family with icmp-type/code');
      if ((r.proto === IPPROTO_ICMP && r.af === 6) || (r.proto === IPPROTO_ICMPV6 && r.af === 4)) {
        err(`proto ${r.proto === IPPROTO_ICMP ? 'icmp' : 'icmp6'} doesn't match address family ${r.af === 4 ? 'inet' : 'inet6'}`);
      }
      if (r.allowOpts && r.action !== 'pass') err('allow-opts can only be specified for pass rules');
      if (r.fragment && (r.src.port || r.dst.port || r.flagset || r.icmpType !== undefined)) err('fragments can be filtered only on IP header fields');
      if (r.block?.kind === 'return-rst' && r.proto !== IPPROTO_TCP) err('return-rst can only be applied to TCP rules');
      if (r.action === 'block' && r.keepState !== 'none') err("keep state on block rules doesn't make sense");
    } else if (list === 'rdr') {
      if (r.proto !== IPPROTO_TCP && r.proto !== IPPROTO_UDP) {
        if (r.src.port) err('src port only applies to tcp/udp');
        if (r.dst.port) err('dst port only applies to tcp/udp');
        if (r.pool && r.pool.proxyPort[0]) err('rpool port only applies to tcp/udp');
      }
      if (r.dst.port && r.dst.port.op !== 'eq' && r.dst.port.op !== 'rrg') err('invalid port operator for rdr destination port');
    }
    return problems === 0;
  }
}

/** The text of an address as a table entry key. */
export function entryKey(e: TableEntry): string {
  return `${e.neg ? '!' : ''}${e.addr}/${e.prefix}`;
}

export function hostBits(af: Family): number {
  return BITS[af];
}

/**
 * parse.y's DYNIF_MULTIADDR: `(if)` may stand for several addresses unless it is `(if:0)` of an
 * interface (a name ending in a digit); `(group:0)` still may. Such a pool is round-robin.
 */
function dynifMultiAddr(a: Addr): boolean {
  return a.type === 'dynif' && (!a.noalias || !/[0-9]$/.test(a.ifname));
}
