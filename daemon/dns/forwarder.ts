import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { isIPv6, Socket } from 'node:net';
import type * as DnsPacket from 'dns-packet';
import { nameProblem } from '../../src/dns/names';
import { parseResolvConf, type HostResolvConf } from '../../src/dns/resolv-conf';
import { decode, dnsPacket, peekHeader, RCODE, TC, withId, type Header } from './wire';

/**
 * Forwarding to the host's resolvers: the nameservers of the host's resolv.conf (read again
 * when the file changes), tried in order, each for `timeout:` seconds of that file (at most
 * 2 s, so that the next one is tried before the jail's resolver asks again). Upstream queries
 * go out through a few UDP sockets per upstream, each connected to it (only its answers are
 * read) from a random source port and replaced after 100 queries, each query with a random ID
 * no other pending query of its socket has; an answer counts only when its ID and question
 * match. (A new socket per query gave 0.24 of the straight path's queries/s in bench/dns.bench.ts,
 * the pool 0.31 to 0.35.) A truncated answer is asked again over TCP. The search list of the host's
 * resolv.conf is applied as the stub resolver applies it (res_query.c res_nsearch): a name with
 * fewer dots than `ndots:` is tried with each search domain first, then as it is; a name with
 * more, as it is first; an answer found under another name than asked is returned as a CNAME
 * from the asked name to it.
 */

export const MAX_UPSTREAM_TIMEOUT_MS = 2000;
/** How often the resolv.conf's change time is looked at, at most. */
const RECHECK_MS = 1000;
const MAX_TCP_ANSWER = 65535;

export interface ForwardResult {
  /** The answer for the client, with the client's ID; undefined when no upstream answered. */
  answer?: Buffer;
  /** The upstream that answered (address). */
  upstream?: string;
}

export class ResolvConfSource {
  private conf: HostResolvConf = { nameservers: [], search: [], ndots: 1, timeout: 5, attempts: 2 };
  private mtimeMs = -1;
  private checkedAt = -Infinity;
  error: string | undefined;

  constructor(readonly path: string) {}

  current(): HostResolvConf {
    const now = Date.now();
    if (now - this.checkedAt < RECHECK_MS) return this.conf;
    this.checkedAt = now;
    try {
      const st = statSync(this.path);
      if (st.mtimeMs !== this.mtimeMs) {
        this.conf = parseResolvConf(readFileSync(this.path, 'utf8'));
        this.mtimeMs = st.mtimeMs;
      }
      this.error = undefined;
    } catch (err) {
      // A missing or unreadable file: no upstreams (every forwarded query gets SERVFAIL).
      this.conf = { nameservers: [], search: [], ndots: 1, timeout: 5, attempts: 2 };
      this.mtimeMs = -1;
      this.error = (err as Error).message;
    }
    return this.conf;
  }
}

/** Sockets per upstream, and queries each sends before it is replaced (a new random source port). */
const SOCKETS_PER_UPSTREAM = 4;
const QUERIES_PER_SOCKET = 100;

interface Pending {
  name: string;
  type: string;
  done(answer: Buffer | undefined): void;
}

/** One connected UDP socket to an upstream and the queries waiting on it, by ID. */
class UpstreamSocket {
  readonly pending = new Map<number, Pending>();
  sent = 0;
  private closed = false;
  private readonly socket: UdpSocket;
  private readonly ready: Promise<boolean>;

  constructor(upstream: string) {
    const [address, scope] = upstream.split('%');
    this.socket = createSocket(isIPv6(address as string) ? 'udp6' : 'udp4');
    // A refusal (ICMP port unreachable) of the connected socket ends every query waiting on it.
    this.socket.on('error', () => this.failAll());
    this.socket.on('message', (msg) => {
      const id = msg.length >= 2 ? msg.readUInt16BE(0) : -1;
      const p = this.pending.get(id);
      if (p && matches(msg, id, p.name, p.type)) {
        this.pending.delete(id);
        p.done(msg);
      }
    });
    this.ready = new Promise((resolve) => {
      this.socket.connect(53, scope ? `${address}%${scope}` : (address as string), () => resolve(true));
      this.socket.once('error', () => resolve(false));
    });
  }

  get retired(): boolean {
    return this.closed || this.sent >= QUERIES_PER_SOCKET;
  }

  retire(): void {
    this.sent = QUERIES_PER_SOCKET;
    this.closeWhenIdle();
  }

  async ask(packet: Buffer, name: string, type: string, timeoutMs: number): Promise<Buffer | undefined> {
    this.sent++;
    let id = randomInt(0, 0x10000);
    while (this.pending.has(id)) id = randomInt(0, 0x10000);
    const answer = new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const finish = (a: Buffer | undefined) => {
        clearTimeout(timer);
        if (this.pending.get(id) === entry) this.pending.delete(id);
        resolve(a);
        this.closeWhenIdle();
      };
      const entry: Pending = { name, type, done: finish };
      this.pending.set(id, entry);
    });
    if (!(await this.ready) || this.closed) this.pending.get(id)?.done(undefined);
    else this.socket.send(withId(packet, id), (err) => err && this.pending.get(id)?.done(undefined));
    return answer;
  }

  private failAll(): void {
    for (const p of [...this.pending.values()]) p.done(undefined);
  }

  closeWhenIdle(): void {
    if (!this.retired || this.pending.size > 0 || this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

export class Forwarder {
  /** Upstream queries in flight (beyond maxInFlight, queries get SERVFAIL). */
  inFlight = 0;
  private readonly sockets = new Map<string, UpstreamSocket[]>();
  private turn = 0;

  constructor(
    private readonly source: ResolvConfSource,
    private readonly maxInFlight = 1024,
  ) {}

  /**
   * Forwards `query` (decoded, and as received in `raw`). `limit` is the size the client takes
   * (UDP), or 65535 (TCP).
   */
  async forward(header: Header, query: DnsPacket.DecodedPacket, raw: Buffer, limit: number): Promise<ForwardResult> {
    const conf = this.source.current();
    if (conf.nameservers.length === 0 || this.inFlight >= this.maxInFlight) return {};
    const question = query.questions?.[0];
    if (!question) return {};
    let asIs: ForwardResult | undefined;
    for (const name of searchCandidates(question.name, conf)) {
      const original = name === question.name;
      const packet = original ? raw : dnsPacket().encode({ ...query, id: 0, questions: [{ ...question, name }], answers: [], authorities: [] });
      const got = await this.ask(conf, packet, question, name, limit);
      if (!got.answer) continue;
      const decoded = decode(got.answer);
      const rcode = (peekHeader(got.answer)?.flags ?? 0) & 0xf;
      const found = decoded !== undefined && rcode === RCODE.NOERROR && (decoded.answers?.length ?? 0) > 0;
      if (!original) {
        // Under a search domain only an answer counts; the stub goes on after anything else.
        if (found) return { answer: renamed(header, query, name, got.answer, decoded, limit), upstream: got.upstream };
        continue;
      }
      asIs = { answer: withId(got.answer, header.id), upstream: got.upstream };
      // After "no such name" and "no data" the stub tries the search domains still to come.
      if (found || (rcode !== RCODE.NXDOMAIN && rcode !== RCODE.NOERROR)) return asIs;
    }
    return asIs ?? {};
  }

  /** Closes every upstream socket once its queries are answered or timed out. */
  close(): void {
    for (const list of this.sockets.values()) for (const u of list) u.retire();
    this.sockets.clear();
  }

  /** The sockets of an upstream in turn; one that has sent its share is replaced. */
  private socketFor(upstream: string): UpstreamSocket {
    let list = this.sockets.get(upstream);
    if (!list) {
      // Upstreams no longer in the resolv.conf: their sockets close once idle.
      for (const [other, old] of this.sockets) {
        if (this.source.current().nameservers.includes(other)) continue;
        for (const u of old) u.retire();
        this.sockets.delete(other);
      }
      this.sockets.set(upstream, (list = []));
    }
    const i = this.turn++ % SOCKETS_PER_UPSTREAM;
    let s = list[i];
    if (!s || s.retired) {
      s?.closeWhenIdle();
      s = new UpstreamSocket(upstream);
      list[i] = s;
    }
    return s;
  }

  /** One question to the upstreams in order: the first that answers in time. */
  private async ask(conf: HostResolvConf, packet: Buffer, question: DnsPacket.Question, name: string, limit: number): Promise<ForwardResult> {
    const timeoutMs = Math.min(conf.timeout * 1000, MAX_UPSTREAM_TIMEOUT_MS);
    for (const upstream of conf.nameservers) {
      this.inFlight++;
      try {
        let answer = await this.socketFor(upstream).ask(packet, name, question.type, timeoutMs);
        if (answer && ((peekHeader(answer)?.flags ?? 0) & TC) !== 0) {
          // Truncated: the whole answer over TCP (RFC 7766); if that fails, the truncated one stands.
          const id = randomInt(0, 0x10000);
          answer = (await askTcp(upstream, withId(packet, id), id, name, question.type, timeoutMs).catch(() => undefined)) ?? answer;
        }
        if (answer) {
          if (answer.length > limit) answer = truncate(answer);
          return { answer, upstream };
        }
      } finally {
        this.inFlight--;
      }
    }
    return {};
  }
}

/** The names to try for `qname`, in order, as res_nsearch tries them. */
export function searchCandidates(qname: string, conf: Pick<HostResolvConf, 'search' | 'ndots'>): string[] {
  const bare = qname.replace(/\.$/, '');
  if (conf.search.length === 0 || bare === '' || nameProblem(bare) !== undefined || /\.(in-addr|ip6)\.arpa$/i.test(bare)) return [qname];
  const dots = bare.split('.').length - 1;
  const expanded = conf.search.map((domain) => `${bare}.${domain}`);
  return dots >= conf.ndots ? [qname, ...expanded] : [...expanded, qname];
}

/** An answer found under `found` for the question asked: a CNAME from the asked name, then what was found. */
function renamed(header: Header, query: DnsPacket.DecodedPacket, found: string, raw: Buffer, answer: DnsPacket.DecodedPacket, limit: number): Buffer {
  const question = query.questions?.[0] as DnsPacket.Question;
  const ttl = Math.min(...(answer.answers ?? []).map((a) => ('ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0)));
  const flags = (peekHeader(raw)?.flags ?? 0) & ~TC & 0x7fff;
  const out = dnsPacket().encode({
    id: header.id,
    type: 'response',
    flags,
    questions: [question],
    answers: [{ type: 'CNAME', name: question.name, ttl, class: 'IN', data: found }, ...(answer.answers ?? [])],
    additionals: (query.additionals ?? []).filter((a) => a.type === 'OPT'),
  });
  return out.length > limit ? truncate(out) : out;
}

/** Header and question of an answer, TC set: the client asks again over TCP. */
function truncate(raw: Buffer): Buffer {
  const decoded = decode(raw);
  const header = peekHeader(raw) as Header;
  return dnsPacket().encode({ id: header.id, type: 'response', flags: (header.flags | TC) & 0x7fff, questions: decoded?.questions ?? [], answers: [], additionals: [] });
}

function matches(answer: Buffer, id: number, name: string, type: string): boolean {
  const header = peekHeader(answer);
  if (!header || header.id !== id || (header.flags & 0x8000) === 0) return false;
  const q = decode(answer)?.questions?.[0];
  // A FORMERR or SERVFAIL may come without the question; the ID and the connected socket vouch for it then.
  if (!q) return header.qdcount === 0;
  return q.name.toLowerCase() === name.replace(/\.$/, '').toLowerCase() && q.type === type;
}

function askTcp(upstream: string, packet: Buffer, id: number, name: string, type: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (answer: Buffer | undefined) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > MAX_TCP_ANSWER + 2) return finish(undefined);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < length + 2) return;
      const answer = received.subarray(2, length + 2);
      finish(matches(answer, id, name, type) ? Buffer.from(answer) : undefined);
    });
    socket.connect({ port: 53, host: upstream }, () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(packet.length);
      socket.write(Buffer.concat([length, packet]));
    });
  });
}
