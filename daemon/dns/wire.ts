import type * as DnsPacket from 'dns-packet';

/**
 * DNS messages (RFC 1035) through dns-packet: a maintained, widely used codec (mDNS and DoH
 * clients build on it) with no native parts, small enough to bundle into jailnetd, and careful
 * with hostile input (names may only point backwards, every read is bounds-checked). It is
 * loaded on the first message, not when jailnetd starts, and only jailnetd bundles it.
 */

let codec: typeof DnsPacket | undefined;
export function dnsPacket(): typeof DnsPacket {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (codec ??= require('dns-packet') as typeof DnsPacket);
}

export const HEADER_BYTES = 12;
const QR = 0x8000;
export const AA = 0x0400;
export const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const CD = 0x0010;
const OPCODE_MASK = 0x7800;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

/** The largest answer a UDP client without EDNS takes (RFC 1035 4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** What jailnetd offers and accepts as an EDNS payload size (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;

export interface Header {
  id: number;
  flags: number;
  qdcount: number;
}

/** The fixed header, or undefined for fewer than 12 bytes. */
export function peekHeader(raw: Buffer): Header | undefined {
  if (raw.length < HEADER_BYTES) return undefined;
  return { id: raw.readUInt16BE(0), flags: raw.readUInt16BE(2), qdcount: raw.readUInt16BE(4) };
}

export const isResponse = (h: Header) => (h.flags & QR) !== 0;
export const opcodeOf = (h: Header) => (h.flags & OPCODE_MASK) >> 11;

export function decode(raw: Buffer): DnsPacket.DecodedPacket | undefined {
  try {
    return dnsPacket().decode(raw);
  } catch {
    return undefined;
  }
}

/** The EDNS payload size a query offers (512 without OPT), within what jailnetd sends. */
export function udpLimit(query: DnsPacket.Packet | undefined): number {
  const opt = query?.additionals?.find((a): a is DnsPacket.OptAnswer => a.type === 'OPT');
  if (!opt) return CLASSIC_UDP_SIZE;
  return Math.min(Math.max(opt.udpPayloadSize ?? CLASSIC_UDP_SIZE, CLASSIC_UDP_SIZE), EDNS_UDP_SIZE);
}

function responseFlags(query: Header, rcode: Rcode, extra = 0): number {
  return (QR | (query.flags & (OPCODE_MASK | RD | CD)) | RA | extra | RCODE[rcode]) & 0xffff;
}

/**
 * An answer to `query` (its ID, opcode, RD and question repeated), with an OPT record when the
 * query had one (RFC 6891 6.1.1). When it is longer than `limit` (UDP), only the header and the
 * question are sent, with TC set, so that the client asks again over TCP.
 */
export function encodeResponse(header: Header, query: DnsPacket.Packet | undefined, rcode: Rcode, answers: DnsPacket.Answer[], opts: { aa?: boolean; limit?: number } = {}): Buffer {
  const hadOpt = query?.additionals?.some((a) => a.type === 'OPT') === true;
  const additionals: DnsPacket.Answer[] = hadOpt ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
  const packet: DnsPacket.Packet = {
    id: header.id,
    type: 'response',
    flags: responseFlags(header, rcode, opts.aa ? AA : 0),
    questions: query?.questions ?? [],
    answers,
    additionals,
  };
  const out = dnsPacket().encode(packet);
  if (opts.limit === undefined || out.length <= opts.limit) return out;
  return dnsPacket().encode({ ...packet, flags: (packet.flags as number) | TC, answers: [] });
}

/** The message with another ID (forwarding: the upstream gets its own, the client gets its own back). */
export function withId(raw: Buffer, id: number): Buffer {
  const copy = Buffer.from(raw);
  copy.writeUInt16BE(id, 0);
  return copy;
}

/** Header and question only, TC set: "ask again over TCP" for an answer too long for UDP. */
export function truncatedCopy(header: Header, query: DnsPacket.Packet | undefined, rcode: Rcode = 'NOERROR'): Buffer {
  return encodeResponse(header, query, rcode, [], { limit: 0 });
}
