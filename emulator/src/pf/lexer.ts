/**
 * pf.conf tokens, read the way pfctl's yylex reads them: words are keywords or strings, quoted
 * text is always a string, digits followed by a word character make a string ("10.0.0.1",
 * "8000:8010"), `$name` expands a macro in place, a backslash before a newline continues the
 * line, `#` starts a comment. Tokens are pulled one at a time because macros are defined by
 * earlier statements of the same input.
 */

export type Token =
  | { t: 'str'; v: string; quoted: boolean; line: number }
  | { t: 'kw'; v: string; line: number }
  | { t: 'num'; v: number; raw: string; line: number }
  | { t: 'ch'; v: string; line: number }
  | { t: 'arrow'; line: number }
  | { t: 'portbin'; v: 'irg' | 'xrg'; line: number }
  | { t: 'error'; line: number }
  | { t: 'eof'; line: number };

/** pfctl's keyword table (parse.y lookup()). */
export const KEYWORDS = new Set([
  'all', 'allow-opts', 'altq', 'anchor', 'antispoof', 'any', 'bandwidth', 'binat', 'binat-anchor', 'bitmask', 'block',
  'block-policy', 'buckets', 'cbq', 'code', 'codelq', 'crop', 'debug', 'divert-reply', 'divert-to', 'drop', 'drop-ovl',
  'dup-to', 'fail-policy', 'fairq', 'fastroute', 'file', 'fingerprints', 'flags', 'floating', 'flush', 'for', 'fragment',
  'from', 'global', 'group', 'hfsc', 'hogs', 'hostid', 'icmp-type', 'icmp6-type', 'if-bound', 'in', 'include', 'inet',
  'inet6', 'interval', 'keep', 'label', 'limit', 'linkshare', 'load', 'log', 'loginterface', 'max', 'max-mss',
  'max-src-conn', 'max-src-conn-rate', 'max-src-nodes', 'max-src-states', 'min-ttl', 'modulate', 'nat', 'nat-anchor',
  'no', 'no-df', 'no-route', 'no-sync', 'on', 'optimization', 'os', 'out', 'overload', 'pass', 'port', 'prio',
  'priority', 'priq', 'probability', 'proto', 'qlimit', 'queue', 'quick', 'random', 'random-id', 'rdr', 'rdr-anchor',
  'realtime', 'reassemble', 'reply-to', 'require-order', 'return', 'return-icmp', 'return-icmp6', 'return-rst',
  'round-robin', 'route', 'route-to', 'rtable', 'rule', 'ruleset-optimization', 'scrub', 'set', 'set-tos', 'skip',
  'sloppy', 'source-hash', 'source-track', 'state', 'state-defaults', 'state-policy', 'static-port', 'sticky-address',
  'synproxy', 'table', 'tag', 'tagged', 'target', 'tbrsize', 'timeout', 'to', 'tos', 'ttl', 'upperlimit',
  'urpf-failed', 'user',
]);

export interface LexError {
  line: number;
  message: string;
}

const isDigit = (c: string) => c >= '0' && c <= '9';
const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);
const isPunct = (c: string) => /^[!-/:-@[-`{-~]$/.test(c);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const allowedToEndNumber = (c: string) => isSpace(c) || c === ')' || c === ',' || c === '/' || c === '}' || c === '=';
const allowedInString = (c: string) =>
  isAlnum(c) || (isPunct(c) && !'(){}<>!=/#,'.includes(c));

export class Lexer {
  private pos = 0;
  private lineno = 1;
  /** Macro text being read instead of the input (pfctl's parsebuf). */
  private buf: string | null = null;
  private bufPos = 0;
  private pushback: string[] = [];
  readonly errors: LexError[] = [];
  /** Line of the last token returned (yylval.lineno), for error messages. */
  lastLine = 1;

  constructor(private readonly input: string, private readonly macros: Map<string, string>) {}

  private getc(): string | null {
    if (this.buf !== null) {
      if (this.bufPos < this.buf.length) return this.buf[this.bufPos++] as string;
      this.buf = null;
    }
    if (this.pushback.length) return this.pushback.pop() as string;
    for (;;) {
      if (this.pos >= this.input.length) return null;
      const c = this.input[this.pos++] as string;
      if (c === '\\' && this.input[this.pos] === '\n') {
        this.pos++;
        this.lineno++;
        continue;
      }
      return c;
    }
  }

  private getcQuoted(): string | null {
    if (this.buf !== null) {
      if (this.bufPos < this.buf.length) return this.buf[this.bufPos++] as string;
      this.buf = null;
    }
    if (this.pushback.length) return this.pushback.pop() as string;
    if (this.pos >= this.input.length) return null;
    return this.input[this.pos++] as string;
  }

  private ungetc(c: string | null): void {
    if (c === null) return;
    if (this.buf !== null && this.bufPos > 0) {
      this.bufPos--;
      return;
    }
    this.pushback.push(c);
  }

  private error(message: string): void {
    this.errors.push({ line: this.lastLine, message });
  }

  /** Skips to the end of the line (pfctl's findeol) and returns an error token. */
  private findEol(): Token {
    this.buf = null;
    for (;;) {
      const c = this.pushback.length ? (this.pushback.pop() as string) : this.getc();
      if (c === null) break;
      if (c === '\n') {
        this.lineno++;
        break;
      }
    }
    return { t: 'error', line: this.lastLine };
  }

  next(): Token {
    for (;;) {
      let c = this.getc();
      while (c === ' ' || c === '\t') c = this.getc();
      this.lastLine = this.lineno;
      const line = this.lineno;
      if (c === '#') {
        while ((c = this.getc()) !== '\n' && c !== null);
      }
      if (c === '$' && this.buf === null) {
        let name = '';
        for (;;) {
          const d = this.getc();
          if (d === null) return { t: 'eof', line };
          if (isAlnum(d) || d === '_') {
            name += d;
            continue;
          }
          this.ungetc(d);
          break;
        }
        const val = this.macros.get(name);
        if (val === undefined) {
          this.error(`macro '${name}' not defined`);
          return this.findEol();
        }
        this.buf = val;
        this.bufPos = 0;
        continue;
      }
      if (c === null) return { t: 'eof', line };
      if (c === '"' || c === "'") {
        const quote = c;
        let s = '';
        for (;;) {
          let d = this.getcQuoted();
          if (d === null) {
            this.error('reached end of file while parsing quoted string');
            return { t: 'eof', line };
          }
          if (d === '\n') {
            this.lineno++;
            continue;
          }
          if (d === '\\') {
            const n = this.getcQuoted();
            if (n === null) return { t: 'eof', line };
            if (n === quote || n === ' ' || n === '\t') d = n;
            else if (n === '\n') {
              this.lineno++;
              continue;
            } else this.ungetc(n);
          } else if (d === quote) break;
          s += d;
        }
        return { t: 'str', v: s, quoted: true, line };
      }
      if (c === '<') {
        const n = this.getc();
        if (n === '>') return { t: 'portbin', v: 'xrg', line };
        this.ungetc(n);
      } else if (c === '>') {
        const n = this.getc();
        if (n === '<') return { t: 'portbin', v: 'irg', line };
        this.ungetc(n);
      } else if (c === '-') {
        const n = this.getc();
        if (n === '>') return { t: 'arrow', line };
        this.ungetc(n);
      }
      if (c === '-' || isDigit(c)) {
        let s = c;
        let d = this.getc();
        while (d !== null && isDigit(d)) {
          s += d;
          d = this.getc();
        }
        this.ungetc(d);
        if (!(s === '-')) {
          if (d === null || allowedToEndNumber(d)) {
            const v = Number(s);
            if (!Number.isSafeInteger(v)) {
              this.error(`"${s}" invalid number: too large`);
              return this.findEol();
            }
            return { t: 'num', v, raw: s, line };
          }
        }
        // Not a number: push the characters back and read again as a word.
        for (let i = s.length - 1; i >= 1; i--) this.ungetc(s[i] as string);
        if (s[0] === '-') return { t: 'ch', v: '-', line };
        c = s[0] as string;
      }
      if (isAlnum(c) || c === ':' || c === '_') {
        let s = c;
        let d = this.getc();
        while (d !== null && allowedInString(d)) {
          s += d;
          d = this.getc();
        }
        this.ungetc(d);
        if (KEYWORDS.has(s)) return { t: 'kw', v: s, line };
        return { t: 'str', v: s, quoted: false, line };
      }
      if (c === '\n') {
        this.lineno++;
        return { t: 'ch', v: '\n', line };
      }
      return { t: 'ch', v: c, line };
    }
  }
}
