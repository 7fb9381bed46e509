/**
 * The loaded form of pf rules and tables: what pfctl hands to the kernel after parsing and
 * expansion (one entry per expanded rule, as `pfctl -s rules` shows them). Plain JSON, so the
 * state file can hold it.
 */
import type { Family } from './addr';

/** 0 = any address family (pf's af 0). */
export type Af = 0 | Family;

export type Addr =
  | { type: 'any' }
  | { type: 'addrmask'; af: Family; addr: string; prefix: number }
  | { type: 'range'; af: Family; from: string; to: string }
  | { type: 'table'; name: string }
  | { type: 'dynif'; ifname: string; mode?: 'network' | 'broadcast' | 'peer'; noalias?: boolean; prefix?: number }
  | { type: 'noroute' }
  | { type: 'urpffailed' };

/** pf's port operators: = != < <= > >= >< <> and the inclusive range a:b. */
export type PortOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'irg' | 'xrg' | 'rrg';

export interface PortSpec {
  op: PortOp;
  a: number;
  b: number;
}

export interface RuleAddr {
  addr: Addr;
  neg: boolean;
  port?: PortSpec;
}

export type PoolType = 'none' | 'round-robin' | 'random' | 'bitmask' | 'source-hash';

export interface Pool {
  /** Translation targets: addrmask, table or dynif entries. */
  hosts: Addr[];
  /** nat: source port range (0,0 = static-port); rdr: first and last redirect port (0 = keep). */
  proxyPort: [number, number];
  type: PoolType;
  sticky: boolean;
}

export type Action = 'pass' | 'block' | 'scrub' | 'noscrub' | 'nat' | 'nonat' | 'rdr' | 'nordr';

export type BlockPolicy =
  | { kind: 'drop' }
  | { kind: 'return' }
  | { kind: 'return-rst'; ttl?: number }
  | { kind: 'return-icmp'; icmp?: number; icmp6?: number };

export interface AnchorCall {
  /** As written, e.g. "jailnet/*" (wildcard) or "x" or "/abs". */
  call: string;
  /** Resolved path of the anchor (without "/*"). */
  path: string;
  wildcard: boolean;
}

export interface Rule {
  action: Action;
  anchor?: AnchorCall;
  /** For block rules: how the packet is refused. */
  block?: BlockPolicy;
  direction?: 'in' | 'out';
  log: boolean;
  quick: boolean;
  ifname?: string;
  ifnot?: boolean;
  af: Af;
  proto?: number;
  src: RuleAddr;
  dst: RuleAddr;
  /** TCP flags that must be set, out of `flagset` (bits of "FSRPAUEW"). */
  flags?: number;
  flagset?: number;
  /** ICMP type and code, when given (real values, not pf's +1 encoding). */
  icmpType?: number;
  icmpCode?: number;
  keepState: 'none' | 'keep' | 'modulate' | 'synproxy';
  /** "rdr pass" / "nat pass": the translated connection skips the filter rules. */
  natpass?: boolean;
  pool?: Pool;
  label?: string;
  tag?: string;
  tagged?: { name: string; neg: boolean };
  fragment?: boolean;
  allowOpts?: boolean;
  /** scrub options, printed only. */
  scrubReassembleTcp?: boolean;
}

export interface TableEntry {
  af: Family;
  addr: string;
  prefix: number;
  neg: boolean;
}

export interface Table {
  name: string;
  persist: boolean;
  const: boolean;
  counters: boolean;
  entries: TableEntry[];
  /**
   * A definition with an address list (`{ ... }`, `{ }` too): parse.y table_opt's init_addr.
   * Loaded, it sets an existing table to exactly `entries`; without one, the table keeps its
   * addresses (pfctl_define_table: PFR_FLAG_ADDRSTOO only with init_addr).
   */
  initAddr?: boolean;
}

export interface Ruleset {
  scrub: Rule[];
  nat: Rule[];
  rdr: Rule[];
  filter: Rule[];
}

export function emptyRuleset(): Ruleset {
  return { scrub: [], nat: [], rdr: [], filter: [] };
}

/** Options a main ruleset can set (`set ...`); ignored when loading into an anchor, as pfctl does. */
export interface Options {
  skip?: string[];
  blockPolicy?: 'drop' | 'return';
  statePolicy?: 'if-bound' | 'floating';
}

export const TCP_FLAGS = 'FSRPAUEW';
export const TH_SYN = 0x02;
export const TH_ACK = 0x10;
