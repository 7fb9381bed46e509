/**
 * `pfctl -s ...` output: rules (pfctl_show_rules / pfctl_show_nat, nested anchors with -a
 * 'x/*'), anchors (pfctl_walk_anchors), tables, status (print_status), states (print_state).
 */
import type { Rule } from './ast';
import { printRule } from './print';
import { anchorExists, childAnchors, descendantAnchors, type PfState } from './state';
import type { ConnState } from './sys';

export interface ShowOptions {
  verbose: number;
  numeric: boolean;
  recurse: boolean;
}

const indent = (d: number, o: ShowOptions) => (o.verbose ? '' : '  '.repeat(d));

function counters(o: ShowOptions): string {
  if (!o.verbose) return '';
  return (
    `  [ Evaluations: ${'0'.padEnd(8)}  Packets: ${'0'.padEnd(8)}  Bytes: ${'0'.padEnd(10)}  States: ${'0'.padEnd(6)}]\n` +
    `  [ Inserted: uid 0 pid ${process.pid} State Creations: ${'0'.padEnd(6)}]\n`
  );
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Rules of one list family of an anchor, pfctl_show_rules style. */
function showList(s: PfState, path: string, lists: Array<'scrub' | 'filter' | 'nat' | 'rdr'>, word: string, depth: number, wildcard: boolean, o: ShowOptions): string {
  let out = '';
  if (wildcard && o.recurse) {
    for (const c of childAnchors(s, path)) {
      out += `${indent(depth, o)}${word} "${baseName(c)}" all {\n`;
      out += showList(s, c, lists, word, depth + 1, false, o);
      out += `${indent(depth, o)}}\n`;
    }
    return out;
  }
  const data = s.anchors[path];
  let nr = 0;
  for (const list of lists) {
    nr = 0;
    for (const r of data?.ruleset[list] ?? []) {
      const num = o.verbose > 1 ? `@${nr} ` : '';
      nr++;
      out += `${indent(depth, o)}${num}${printRule(r, { numeric: o.numeric })}`;
      if (r.anchor && o.recurse) {
        out += ' {\n' + counters(o);
        out += showList(s, r.anchor.path, lists, word, depth + 1, r.anchor.wildcard, o);
        out += `${indent(depth, o)}}\n`;
      } else out += `\n${counters(o)}`;
    }
  }
  return out;
}

export function showRules(s: PfState, anchor: string, o: ShowOptions): { out: string; err: string } {
  if (!anchorExists(s, anchor)) return { out: '', err: 'pfctl: Anchor does not exist\n' };
  return { out: showList(s, anchor, ['scrub', 'filter'], 'anchor', 0, false, o), err: '' };
}

export function showNat(s: PfState, anchor: string, o: ShowOptions): { out: string; err: string } {
  if (!anchorExists(s, anchor)) return { out: '', err: 'pfctl: DIOCGETRULES: Invalid argument\n' };
  return { out: showList(s, anchor, ['nat', 'rdr'], 'nat-anchor', 0, false, o), err: '' };
}

/** pfctl_walk_anchors: every anchor below `anchor`, depth first, "  path" per line. */
export function showAnchors(s: PfState, anchor: string, o: ShowOptions): { out: string; err: string } {
  if (!anchorExists(s, anchor)) return { out: '', err: `Anchor '${anchor}' not found.\n` };
  let out = '';
  for (const p of descendantAnchors(s, anchor)) {
    if (baseName(p).startsWith('_') && !o.verbose) continue;
    out += `  ${p}\n`;
  }
  return { out, err: '' };
}

export function showTables(s: PfState, anchor: string, o: ShowOptions): { out: string; err: string; fail: boolean } {
  // pfctl_table.c radix_perror: pfr_strerror(ENOENT) of pfctl_radix.c.
  if (!anchorExists(s, anchor)) return { out: '', err: 'pfctl: Anchor or Ruleset does not exist.\n', fail: true };
  const tables = Object.values(s.anchors[anchor]?.tables ?? {}).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let out = '';
  for (const t of tables) {
    if (o.verbose) {
      const referenced = Object.entries(s.anchors).some(([p, a]) =>
        [...a.ruleset.nat, ...a.ruleset.rdr, ...a.ruleset.filter].some(
          (r: Rule) => (p === anchor || anchor === '') && [r.src.addr, r.dst.addr, ...(r.pool?.hosts ?? [])].some((x) => x.type === 'table' && x.name === t.name),
        ),
      );
      const flags = `${t.const ? 'c' : '-'}${t.persist ? 'p' : '-'}a-${referenced ? 'r' : '-'}-${t.counters ? 'C' : '-'}`;
      out += `${flags}\t${t.name}${anchor ? `\t${anchor}` : ''}\n`;
    } else out += `${t.name}\n`;
  }
  return { out, err: '', fail: false };
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** print_status (pfctl -s info). */
export function showInfo(s: PfState, states: number, o: ShowOptions, now = Math.floor(Date.now() / 1000)): string {
  const runtime = Math.max(0, now - s.since);
  let d = runtime;
  const sec = d % 60;
  d = Math.floor(d / 60);
  const min = d % 60;
  d = Math.floor(d / 60);
  const hrs = d % 24;
  const days = Math.floor(d / 24);
  const statline = `Status: ${s.enabled ? 'Enabled' : 'Disabled'} for ${days} days ${two(hrs)}:${two(min)}:${two(sec)}`;
  let out = `${statline.padEnd(44)}${'Debug: Urgent'.padStart(15)}\n\n`;
  if (o.verbose) out += 'Hostid:   0x00000000\nChecksum: 0x00000000000000000000000000000000\n\n';
  const rate = (n: number) => (runtime > 0 ? `${(n / runtime).toFixed(1).padStart(14)}/s` : ''.padStart(14));
  out += `${'State Table'.padEnd(27)} ${'Total'.padStart(14)} ${'Rate'.padStart(16)}\n`;
  out += `  ${'current entries'.padEnd(25)} ${String(states).padStart(14)} ${''.padStart(14)}\n`;
  for (const c of ['searches', 'inserts', 'removals']) out += `  ${c.padEnd(25)} ${'0'.padStart(14)} ${rate(0)}\n`;
  out += 'Counters\n';
  for (const c of ['match', 'bad-offset', 'fragment', 'short', 'normalize', 'memory', 'bad-timestamp', 'congestion', 'ip-option', 'proto-cksum', 'state-mismatch', 'state-insert', 'state-limit', 'src-limit', 'synproxy', 'map-failed']) {
    out += `  ${c.padEnd(25)} ${'0'.padStart(14)} ${rate(0)}\n`;
  }
  return out;
}

const TCP_STATE: Record<string, string> = {
  SYN_SENT: 'SYN_SENT:CLOSED',
  SYN_RECV: 'SYN_SENT:SYN_SENT',
  ESTABLISHED: 'ESTABLISHED:ESTABLISHED',
  FIN_WAIT: 'FIN_WAIT_2:FIN_WAIT_2',
  CLOSE_WAIT: 'FIN_WAIT_2:FIN_WAIT_2',
  LAST_ACK: 'FIN_WAIT_2:FIN_WAIT_2',
  TIME_WAIT: 'TIME_WAIT:TIME_WAIT',
  CLOSE: 'CLOSED:CLOSED',
};

function hostPort(af: 4 | 6, addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return af === 4 ? `${addr}:${port}` : `${addr}[${port}]`;
}

/** print_state for conntrack entries: "all tcp A:p (orig) -> B:q    STATE:STATE". */
export function showStates(states: ConnState[]): string {
  let out = '';
  for (const st of states) {
    const { orig, reply } = st;
    const proto = st.proto === 'ipv6-icmp' ? 'ipv6-icmp' : st.proto;
    const stateText =
      st.proto === 'tcp'
        ? (TCP_STATE[st.state] ?? `${st.state}:${st.state}`)
        : st.proto === 'icmp' || st.proto === 'ipv6-icmp' || st.proto === 'icmpv6'
          ? '0:0'
          : st.state === 'SINGLE'
            ? 'SINGLE:NO_TRAFFIC'
            : 'MULTIPLE:MULTIPLE';
    const hp = (a: string, p?: number) => hostPort(st.af, a, p);
    let line: string;
    if (reply.src !== orig.dst || reply.sport !== orig.dport) {
      // destination translated (rdr): shown as an inbound state
      line = `all ${proto} ${hp(reply.src, reply.sport)} (${hp(orig.dst, orig.dport)}) <- ${hp(orig.src, orig.sport)}`;
    } else if (reply.dst !== orig.src || reply.dport !== orig.sport) {
      line = `all ${proto} ${hp(reply.dst, reply.dport)} (${hp(orig.src, orig.sport)}) -> ${hp(orig.dst, orig.dport)}`;
    } else line = `all ${proto} ${hp(orig.src, orig.sport)} -> ${hp(orig.dst, orig.dport)}`;
    out += `${line}       ${stateText}\n`;
  }
  return out;
}

export const TIMEOUTS: Array<[string, number, boolean?]> = [
  ['tcp.first', 120],
  ['tcp.opening', 30],
  ['tcp.established', 86400],
  ['tcp.closing', 900],
  ['tcp.finwait', 45],
  ['tcp.closed', 90],
  ['tcp.tsdiff', 30],
  ['sctp.first', 120],
  ['sctp.opening', 30],
  ['sctp.established', 86400],
  ['sctp.closing', 900],
  ['sctp.closed', 90],
  ['udp.first', 60],
  ['udp.single', 30],
  ['udp.multiple', 60],
  ['icmp.first', 20],
  ['icmp.error', 10],
  ['other.first', 60],
  ['other.single', 30],
  ['other.multiple', 60],
  ['frag', 60],
  ['interval', 10],
  ['adaptive.start', 60000, true],
  ['adaptive.end', 120000, true],
  ['src.track', 0],
];

export function showTimeouts(): string {
  return TIMEOUTS.map(([n, v, states]) => `${n.padEnd(20)} ${String(v).padStart(10)}${states ? ' states' : 's'}\n`).join('');
}

export function showLimits(): string {
  const limits: Array<[string, number]> = [
    ['states', 100000],
    ['src-nodes', 100000],
    ['frags', 5000],
    ['table-entries', 200000],
  ];
  return limits.map(([n, v]) => `${n.padEnd(13)} hard limit ${String(v).padStart(8)}\n`).join('');
}
