import { ToolError, readState, withLock, writeState, type EmuContext, type ToolIo } from './context';
import { run } from './exec';
import { getopt, UsageError } from './getopt';
import { vnetOf, type Vnet } from './jails';
import { metaOf } from './meta';
import { IP, readLinks } from './netns';
import { notifyPf } from './pf-hook';

/**
 * sysctl(8) for the OIDs jailnet uses. Forwarding is the real Linux sysctl of the vnet's
 * namespace; the pf and if_bridge knobs are emulator state (sysctl.json for the host, shared
 * with the emulated pf; sysctl-jail-<jid>.json for a vnet jail).
 */

/**
 * sysctl.c's usage() of FreeBSD 13 and 14 (exit status 1). The emulator also takes `-j jail`
 * (a later FreeBSD's option), which this text does not show.
 */
const USAGE = `usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] name[=value] ...
       sysctl [-bdehNnoqTtWx] [ -B <bufsize> ] -a`;

export const SYSCTL_FILE = 'sysctl.json';

type Oid =
  | { kind: 'linux'; linux: string }
  | { kind: 'state'; dflt: string; pf: boolean; min?: number; onChange?: (ctx: EmuContext, v: Vnet, value: string) => Promise<void> }
  | { kind: 'const'; value: (v: Vnet) => string };

/** Per-vnet OIDs with their FreeBSD 14 defaults; the comment names where FreeBSD defines each. */
const OIDS: Record<string, Oid> = {
  'net.inet.ip.forwarding': { kind: 'linux', linux: 'net.ipv4.ip_forward' },
  'net.inet6.ip6.forwarding': { kind: 'linux', linux: 'net.ipv6.conf.all.forwarding' },
  // sys/netinet6/in6_proto.c: the ND6_IFF_ACCEPT_RTADV default for interfaces attached later
  // (nd6_ifattach), 0; rc.conf's `inet6 accept_rtadv` sets the flag per interface instead.
  'net.inet6.ip6.accept_rtadv': { kind: 'state', dflt: '0', pf: false },
  // sys/netinet6/in6_proto.c, read by nd6_ra_input (sys/netinet6/nd6_rtr.c): with forwarding on,
  // RAs give a default route only when this is 1. Default 0.
  'net.inet6.ip6.rfc6204w3': { kind: 'state', dflt: '0', pf: false, onChange: (ctx, v, value) => syncAcceptRa(ctx, v, undefined, value !== '0') },
  // sys/net/route/route_ctl.c (V_rib_route_multipath): a second route to a prefix with another
  // gateway joins it as a multipath (ECMP) route. Default 1.
  'net.route.multipath': { kind: 'state', dflt: '1', pf: false },
  // sys/netinet/ip_input.c (14.x): drop packets arriving with a local source address on a
  // non-loopback interface. Default 1. Read by the emulated pf.
  'net.inet.ip.source_address_validation': { kind: 'state', dflt: '1', pf: true },
  // Per-vnet knobs the tuning plugin may set (CTLFLAG_VNET): kept per vnet with FreeBSD 14's
  // defaults; they change no traffic here.
  // sys/netinet/raw_ip.c: V_ip_defttl = IPDEFTTL.
  'net.inet.ip.ttl': { kind: 'state', dflt: '64', pf: false },
  // sys/netinet/ip_input.c: V_ipsendredirects = 1.
  'net.inet.ip.redirect': { kind: 'state', dflt: '1', pf: false },
  // sys/netinet/in_pcb.c: the ephemeral port ranges and the highest reserved port.
  'net.inet.ip.portrange.first': { kind: 'state', dflt: '10000', pf: false },
  'net.inet.ip.portrange.last': { kind: 'state', dflt: '65535', pf: false },
  'net.inet.ip.portrange.hifirst': { kind: 'state', dflt: '49152', pf: false },
  'net.inet.ip.portrange.hilast': { kind: 'state', dflt: '65535', pf: false },
  'net.inet.ip.portrange.reservedhigh': { kind: 'state', dflt: '1023', pf: false },
  // sys/netinet/tcp_subr.c: V_tcp_mssdflt = TCP_MSS; sysctl_net_inet_tcp_mss_check refuses
  // values below TCP_MINMSS (216) with EINVAL.
  'net.inet.tcp.mssdflt': { kind: 'state', dflt: '536', pf: false, min: 216 },
  // sys/netinet/tcp_syncache.c: V_tcp_syncookies = 1.
  'net.inet.tcp.syncookies': { kind: 'state', dflt: '1', pf: false },
  // sys/netinet6/in6_proto.c: ip6_defhlim = IPV6_DEFHLIM, ip6_sendredirects, ip6_dad_count,
  // ip6_auto_flowlabel, ip6_v6only.
  'net.inet6.ip6.hlim': { kind: 'state', dflt: '64', pf: false },
  'net.inet6.ip6.redirect': { kind: 'state', dflt: '1', pf: false },
  'net.inet6.ip6.dad_count': { kind: 'state', dflt: '1', pf: false },
  'net.inet6.ip6.auto_flowlabel': { kind: 'state', dflt: '1', pf: false },
  'net.inet6.ip6.v6only': { kind: 'state', dflt: '1', pf: false },
  'net.link.bridge.pfil_member': { kind: 'state', dflt: '1', pf: true },
  'net.link.bridge.pfil_bridge': { kind: 'state', dflt: '1', pf: true },
  'net.link.bridge.pfil_onlyip': { kind: 'state', dflt: '1', pf: true },
  'net.link.bridge.pfil_local_phys': { kind: 'state', dflt: '0', pf: true },
  'net.pf.filter_local': { kind: 'state', dflt: '0', pf: true },
  'kern.ostype': { kind: 'const', value: () => 'FreeBSD' },
  'kern.osrelease': { kind: 'const', value: () => '14.1-RELEASE' },
  'kern.osreldate': { kind: 'const', value: () => '1401000' },
  'kern.features.vimage': { kind: 'const', value: () => '1' },
  'security.jail.jailed': { kind: 'const', value: (v) => (v.jail ? '1' : '0') },
  'security.jail.vnet': { kind: 'const', value: (v) => (v.jail?.vnet ? '1' : '0') },
};

function stateFile(v: Vnet): string {
  return v.jid === 0 ? SYSCTL_FILE : `sysctl-jail-${v.jid}.json`;
}

/** The value of a state OID (an emulator-kept sysctl) in a vnet, for the other tools. */
export function stateSysctl(ctx: EmuContext, v: Vnet, name: string): string {
  const oid = OIDS[name];
  if (oid?.kind !== 'state') throw new Error(`${name} is not an emulator-kept sysctl`);
  return readState<Record<string, string>>(ctx, stateFile(v), {})[name] ?? oid.dflt;
}

/**
 * ND6_IFF_ACCEPT_RTADV on Linux. nd6_ra_input (sys/netinet6/nd6_rtr.c) takes RAs only on
 * interfaces with the flag, and while net.inet6.ip6.forwarding=1 it takes the router lifetime as
 * 0 unless net.inet6.ip6.rfc6204w3=1, so the RA-learnt default route goes at the next RA.
 * Linux has the same rule in accept_ra: 1 is ignored while forwarding is on, 2 is not; and
 * turning forwarding on drops RA default routes at once, except on accept_ra=2 interfaces
 * (rt6_purge_dflt_routers). So the flag is accept_ra 1, or 2 with rfc6204w3=1: the emulated host
 * loses the route sooner than FreeBSD (at the sysctl, not at the next RA), never later.
 * `only` limits the change to those interfaces (Linux names).
 */
export async function syncAcceptRa(ctx: EmuContext, v: Vnet, only?: readonly string[], rfc6204w3 = stateSysctl(ctx, v, 'net.inet6.ip6.rfc6204w3') !== '0'): Promise<void> {
  const links = (await readLinks(v.ns)).filter((l) => l.ifname !== 'lo' && (only === undefined || only.includes(l.ifname)));
  const set = links.map((l) => `net/ipv6/conf/${l.ifname}/accept_ra=${metaOf(l).acceptRtadv ? (rfc6204w3 ? 2 : 1) : 0}`);
  // An interface destroyed meanwhile makes its line fail; the others are still set.
  if (set.length) await run(IP, ['netns', 'exec', v.ns, '/usr/sbin/sysctl', '-q', '-w', ...set]);
}

async function linuxSysctl(ns: string, args: string[]): Promise<string> {
  const r = await run(IP, ['netns', 'exec', ns, '/usr/sbin/sysctl', ...args]);
  if (r.code !== 0) throw new Error(`sysctl in ${ns}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function read(ctx: EmuContext, v: Vnet, name: string, oid: Oid): Promise<string> {
  if (oid.kind === 'const') return oid.value(v);
  if (oid.kind === 'state') return readState<Record<string, string>>(ctx, stateFile(v), {})[name] ?? oid.dflt;
  return (await linuxSysctl(v.ns, ['-n', oid.linux])).trim();
}

/** Sets a value and returns the old one. */
async function write(ctx: EmuContext, v: Vnet, name: string, oid: Oid, value: string): Promise<string> {
  if (oid.kind === 'state') {
    const old = await withLock(ctx, 'state', async () => {
      const s = readState<Record<string, string>>(ctx, stateFile(v), {});
      const prev = s[name] ?? oid.dflt;
      s[name] = value;
      writeState(ctx, stateFile(v), s);
      return prev;
    });
    if (oid.onChange && old !== value) await oid.onChange(ctx, v, value);
    if (oid.pf && v.jid === 0) await notifyPf(ctx);
    return old;
  }
  if (oid.kind !== 'linux') throw new ToolError(`oid '${name}' is read only`);
  const out = await linuxSysctl(v.ns, [oid.linux, `${oid.linux}=${Number(value) !== 0 ? 1 : 0}`]);
  return (/=\s*(\S+)/.exec(out)?.[1] ?? '0').trim();
}

export async function sysctlMain(ctx: EmuContext, argv: string[], io: ToolIo): Promise<number> {
  // FreeBSD 14's option letters, plus -j.
  const { opts, rest } = getopt('sysctl', argv, 'AabB:def:hiNnoqtTwWxXj:', USAGE);
  const has = (o: string) => opts.some((x) => x.opt === o);
  const nflag = has('n');
  const Nflag = has('N');
  const qflag = has('q');
  const iflag = has('i');
  const sep = has('e') ? '=' : ': ';
  const vnet = vnetOf(ctx, opts.find((o) => o.opt === 'j')?.arg);
  const show = async (name: string, oid: Oid) => {
    if (Nflag) return io.out(`${name}\n`);
    const value = await read(ctx, vnet, name, oid);
    io.out(nflag ? `${value}\n` : `${name}${sep}${value}\n`);
  };
  if (Nflag && nflag) throw new UsageError(USAGE);
  if (has('a') || has('A') || has('X')) {
    for (const [name, oid] of Object.entries(OIDS)) await show(name, oid);
    return 0;
  }
  if (rest.length === 0) throw new UsageError(USAGE);
  let status = 0;
  for (const arg of rest) {
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const oid = OIDS[name];
    if (!oid) {
      const children = Object.keys(OIDS).filter((n) => n.startsWith(`${name}.`));
      if (eq < 0 && children.length > 0) {
        for (const c of children) await show(c, OIDS[c] as Oid);
        continue;
      }
      if (!iflag) {
        io.err(`sysctl: unknown oid '${name}'\n`);
        status = 1;
      }
      continue;
    }
    if (eq < 0) {
      await show(name, oid);
      continue;
    }
    const value = arg.slice(eq + 1);
    if (oid.kind === 'const') {
      io.err(`sysctl: oid '${name}' is read only\n`);
      status = 1;
      continue;
    }
    if (!/^-?\d+$/.test(value)) {
      io.err(`sysctl: invalid integer '${value}'\n`);
      status = 1;
      continue;
    }
    if (vnet.jail && !vnet.jail.vnet) {
      io.err(`sysctl: ${name}=${value}: Operation not permitted\n`);
      status = 1;
      continue;
    }
    if (oid.kind === 'state' && oid.min !== undefined && Number(value) < oid.min) {
      io.err(`sysctl: ${name}=${value}: Invalid argument\n`);
      status = 1;
      continue;
    }
    const old = await write(ctx, vnet, name, oid, String(Number(value)));
    if (!qflag) io.out(nflag ? `${old} -> ${Number(value)}\n` : `${name}: ${old} -> ${Number(value)}\n`);
  }
  return status;
}
