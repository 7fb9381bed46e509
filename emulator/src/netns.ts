import { run, runOk } from './exec';

/**
 * iproute2 wrappers. Every emulated tool process runs in the emulated host's network namespace
 * (entered by the harness's wrapper, for the locks: context.ts withLock) and reaches the host and
 * the jails with `ip -n NS`, naming each namespace explicitly.
 */

export const IP = '/usr/sbin/ip';
/** iproute2's bridge(8), for the forwarding entries of Linux vxlan devices. */
export const BRIDGE = '/usr/sbin/bridge';

export interface AddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope?: string;
  tentative?: boolean;
  deprecated?: boolean;
}

export interface LinuxLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  master?: string;
  ifalias?: string;
  promiscuity?: number;
  /** Peer name, when a veth's peer is in the same namespace. */
  link?: string;
  link_netnsid?: number;
  link_index?: number;
  linkinfo?: {
    info_kind?: string;
    info_slave_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_data?: Record<string, unknown>;
  };
  addr_info?: AddrInfo[];
}

/** Every link of `ns` with details and addresses (one `ip` call). */
export async function readLinks(ns: string): Promise<LinuxLink[]> {
  const out = await runOk(IP, ['-n', ns, '-d', '-j', 'addr', 'show']);
  return JSON.parse(out || '[]') as LinuxLink[];
}

export interface BatchLine {
  cmd: string;
  /** FreeBSD-style message (without "tool: ") when this line fails; `%e` is replaced by the errno text. */
  onError: string | ((linuxError: string) => string);
}

export interface BatchResult {
  ok: boolean;
  /** Index in the lines of the command that failed. */
  failed?: number;
  error?: string;
}

/** Runs `ip -n NS -batch -` with the lines; stops at the first failure like ip does. */
export async function ipBatch(ns: string, lines: readonly string[]): Promise<BatchResult> {
  if (lines.length === 0) return { ok: true };
  const r = await run(IP, ['-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
  if (r.code === 0) return { ok: true };
  const m = /Command failed -:(\d+)/.exec(r.stderr);
  const error = r.stderr.split('\n').filter((l) => l && !l.startsWith('Command failed')).join('\n');
  return { ok: false, failed: m ? Number(m[1]) - 1 : lines.length - 1, error };
}

/** Maps an iproute2/kernel complaint to the errno text FreeBSD would print. */
export function errnoText(linuxError: string): string {
  const e = linuxError.toLowerCase();
  if (e.includes('file exists') || e.includes('already assigned') || e.includes('already exists')) return 'File exists';
  if (e.includes('no such process') || e.includes('cannot find device') || e.includes('no such device')) return 'Device not configured';
  if (e.includes('cannot assign requested address')) return "Can't assign requested address";
  if (e.includes('network is unreachable') || e.includes('nexthop has invalid gateway')) return 'Network is unreachable';
  if (e.includes('invalid argument') || e.includes('numerical result out of range') || e.includes('mtu')) return 'Invalid argument';
  if (e.includes('device or resource busy')) return 'Device busy';
  if (e.includes('operation not permitted')) return 'Operation not permitted';
  if (e.includes('name too long')) return 'File name too long';
  return 'Invalid argument';
}

/** Quotes an argument for an `ip -batch` line (callers keep values free of quotes and "#"). */
export function q(word: string): string {
  return /^[A-Za-z0-9_.:/%@+=,-]+$/.test(word) ? word : `"${word}"`;
}

export async function listNetns(): Promise<string[]> {
  const out = await runOk(IP, ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/** Pids of the processes whose network namespace is `ns`. */
export async function netnsPids(ns: string): Promise<number[]> {
  const r = await run(IP, ['netns', 'pids', ns]);
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}
