/**
 * The Linux side of the emulated pf: reading the host namespace's interfaces and the emulated
 * sysctls, applying an nft script, and conntrack (pf's states). Processes are started through
 * the emulator's exec helper (argv arrays, never a shell), and only ever act inside the
 * emulated host's network namespace (config.hostNs).
 */
import type { EmuContext } from '../context';
import { readState } from '../context';
import { run, type RunResult } from '../exec';
import { metaOf } from '../meta';
import { IP, q, readLinks } from '../netns';
import { type Family, parseIp } from './addr';
import { type BridgeSysctls, DEFAULT_BRIDGE_SYSCTLS } from './compile-nft';
import { groupsOf, type HostInfo, type Iface } from './hosts';

const NFT = '/usr/sbin/nft';
const CONNTRACK = '/usr/sbin/conntrack';
const SYSCTL = '/usr/sbin/sysctl';
const CAT = '/bin/cat';
/** emulator/src/sysctl.ts's state file (not imported, to keep pfctl's bundle small). */
const SYSCTL_FILE = 'sysctl.json';

function inNs(ctx: EmuContext, file: string, args: string[], input?: string): Promise<RunResult> {
  return run(IP, ['netns', 'exec', ctx.config.hostNs, file, ...args], input);
}

/** Interfaces, addresses and groups of the emulated host (its network namespace). */
export async function readHostInfo(ctx: EmuContext): Promise<HostInfo> {
  const links = await readLinks(ctx.config.hostNs);
  const ifaces: Array<Iface & { groups: string[] }> = links.map((l) => {
    const name = l.ifname === 'lo' ? 'lo0' : l.ifname;
    const iface: Iface & { groups: string[] } = {
      name,
      dev: l.ifname,
      loopback: l.flags.includes('LOOPBACK'),
      pointopoint: l.flags.includes('POINTOPOINT'),
      addrs: [],
      groups: metaOf(l).groups,
    };
    if (l.address && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(l.address)) iface.mac = l.address.toLowerCase();
    if (l.master && l.linkinfo?.info_slave_kind === 'bridge') {
      iface.bridge = l.master;
      if (l.linkinfo.info_slave_data?.['hairpin'] === true) iface.hairpin = true;
    }
    for (const a of l.addr_info ?? []) {
      const ip = parseIp(a.local);
      if (!ip || a.tentative) continue;
      const entry: Iface['addrs'][number] = { af: ip.af as Family, v: ip.v, prefix: a.prefixlen };
      if (a.broadcast) {
        const b = parseIp(a.broadcast);
        if (b) entry.broadcast = b.v;
      }
      const peer = (a as { address?: string }).address;
      if (peer && peer !== a.local) {
        const p = parseIp(peer);
        if (p) entry.peer = p.v;
      }
      iface.addrs.push(entry);
    }
    return iface;
  });
  return { ifaces: ifaces.map(({ groups: _g, ...i }) => i), groups: groupsOf(ifaces) };
}

export interface PfSysctls {
  filterLocal: boolean;
  bridge: BridgeSysctls;
}

/** The emulated sysctls pf depends on (state file sysctl.json, written by the sysctl tool). */
export function readSysctls(ctx: EmuContext): PfSysctls {
  const s = readState<Record<string, unknown>>(ctx, SYSCTL_FILE, {});
  const on = (k: string, d: boolean) => String(s[k] ?? (d ? '1' : '0')).trim() !== '0';
  return {
    filterLocal: on('net.pf.filter_local', false),
    bridge: {
      member: on('net.link.bridge.pfil_member', DEFAULT_BRIDGE_SYSCTLS.member),
      bridge: on('net.link.bridge.pfil_bridge', DEFAULT_BRIDGE_SYSCTLS.bridge),
      onlyIp: on('net.link.bridge.pfil_onlyip', DEFAULT_BRIDGE_SYSCTLS.onlyIp),
      localPhys: on('net.link.bridge.pfil_local_phys', DEFAULT_BRIDGE_SYSCTLS.localPhys),
    },
  };
}

/** Applies an nft script in the host namespace (one transaction). */
export async function applyNft(ctx: EmuContext, script: string): Promise<void> {
  const r = await inNs(ctx, NFT, ['-f', '-'], script);
  if (r.code !== 0) throw new Error(`nft rejected the compiled ruleset: ${r.stderr.trim()}`);
}

/**
 * Whether bridged IPv4/IPv6 frames reach the inet hooks (br_netfilter's bridge-nf-call-iptables
 * and -ip6tables, per namespace): on while pf filters bridged frames (pfil_member or
 * pfil_bridge), so that the emulated pf sees them as FreeBSD's if_bridge hands them to pf
 * (compile-nft.ts, "bridged frames"); off when both are 0, where bridge_pfil returns at once
 * and not even a state undoes a translation.
 */
export async function setBridgeNetfilter(ctx: EmuContext, on: boolean): Promise<void> {
  const v = on ? 1 : 0;
  const r = await inNs(ctx, SYSCTL, ['-q', '-w', `net.bridge.bridge-nf-call-iptables=${v}`, `net.bridge.bridge-nf-call-ip6tables=${v}`]);
  if (r.code !== 0) throw new Error(`cannot set br_netfilter's bridge-nf-call-* to ${v}: ${r.stderr.trim()}`);
}

/**
 * Linux's hairpin mode on bridge ports (compile-nft.ts, "bridged DNAT"): `ip -force -batch`,
 * so that a port destroyed meanwhile does not stop the others.
 */
export async function setHairpin(ctx: EmuContext, changes: Array<{ dev: string; on: boolean }>): Promise<void> {
  if (!changes.length) return;
  const lines = changes.map((c) => `link set dev ${q(c.dev)} type bridge_slave hairpin ${c.on ? 'on' : 'off'}`);
  await run(IP, ['-n', ctx.config.hostNs, '-force', '-batch', '-'], `${lines.join('\n')}\n`);
}

// ---- states (conntrack) ---------------------------------------------------------------------

export interface Endpoint {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface ConnState {
  af: Family;
  proto: string;
  /** TCP state name, or SINGLE/MULTIPLE for the others. */
  state: string;
  orig: Endpoint;
  reply: Endpoint;
  mark: number;
}

/** Parses /proc/net/nf_conntrack of the host namespace. */
export async function listStates(ctx: EmuContext): Promise<ConnState[]> {
  const r = await inNs(ctx, CAT, ['/proc/net/nf_conntrack']);
  if (r.code !== 0) return [];
  const out: ConnState[] = [];
  for (const line of r.stdout.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length < 6) continue;
    const af: Family = w[0] === 'ipv6' ? 6 : 4;
    const proto = w[2] as string;
    const kv = w.filter((x) => x.includes('='));
    const pick = (k: string, n: number) => kv.filter((x) => x.startsWith(`${k}=`))[n]?.slice(k.length + 1);
    const ep = (n: number): Endpoint => {
      const e: Endpoint = { src: pick('src', n) ?? '', dst: pick('dst', n) ?? '' };
      const sp = pick('sport', n);
      const dp = pick('dport', n);
      if (sp !== undefined) e.sport = Number(sp);
      if (dp !== undefined) e.dport = Number(dp);
      return e;
    };
    const state = proto === 'tcp' ? (w[5] as string) : w.includes('[UNREPLIED]') ? 'SINGLE' : 'MULTIPLE';
    out.push({ af, proto, state, orig: ep(0), reply: ep(1), mark: Number(pick('mark', 0) ?? 0) });
  }
  return out;
}

const NO_CONNTRACK = 'conntrack(8) is not installed (Debian package "conntrack"; scripts/install-deps.sh installs it)';

/** conntrack -D for states from `src` (to `dst`); returns how many were deleted. */
export async function killStates(ctx: EmuContext, af: Family, src: { addr: string; mask: string } | null, dst?: { addr: string; mask: string }): Promise<number> {
  const args = ['-D', '-f', af === 6 ? 'ipv6' : 'ipv4'];
  if (src) args.push('-s', src.addr, '--mask-src', src.mask);
  if (dst) args.push('-d', dst.addr, '--mask-dst', dst.mask);
  const r = await inNs(ctx, CONNTRACK, args);
  const m = /(\d+) flow entr(?:y|ies) ha(?:s|ve) been deleted/.exec(r.stderr + r.stdout);
  if (!m && r.code !== 0) throw new Error(/No such file|not found/.test(r.stderr) ? NO_CONNTRACK : `conntrack failed: ${r.stderr.trim()}`);
  return m ? Number(m[1]) : 0;
}

/** conntrack -F (both families); returns how many states there were. */
export async function flushStates(ctx: EmuContext): Promise<number> {
  const n = (await listStates(ctx)).length;
  for (const f of ['ipv4', 'ipv6']) {
    const r = await inNs(ctx, CONNTRACK, ['-F', '-f', f]);
    if (r.code !== 0 && /No such file|not found/.test(r.stderr)) throw new Error(NO_CONNTRACK);
  }
  return n;
}
