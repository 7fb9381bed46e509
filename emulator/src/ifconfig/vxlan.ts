import { isIPv4, isIPv6 } from 'node:net';
import { ToolError } from '../context';

/**
 * vxlan(4) as FreeBSD 14 does it, the parts the emulator models (pure: no Linux here except
 * the `ip link add` words at the end). Sources: sbin/ifconfig/ifvxlan.c (the words, their
 * checks and messages, the status line), sys/net/if_vxlan.c (defaults, what may change while
 * the interface runs, the MTU, what vxlan_init needs), sys/net/if_vxlan.h (VNI range, ports),
 * share/man/man4/vxlan.4.
 *
 * The FreeBSD configuration lives in the interface's ifalias metadata (meta.ts); the Linux
 * device behind a vxlan interface is an `ifb` (which drops everything) while the FreeBSD
 * interface is not RUNNING and a Linux vxlan device while it is: if_vxlan.c opens its socket
 * only in vxlan_init (when the interface comes up) and refuses configuration changes while
 * it runs, so the Linux device is made with the configuration of the moment it starts.
 */

/** if_vxlan.h VXLAN_VNI_MAX: a VNI is 24 bits; the value itself means "not set". */
export const VXLAN_VNI_MAX = 1 << 24;
/** if_vxlan.h VXLAN_PORT (IANA). */
export const VXLAN_PORT = 4789;
/** if_vxlan.c VXLAN_FTABLE_MAX (default and maximum) and VXLAN_FTABLE_TIMEOUT, VXLAN_FTABLE_MAX_TIMEOUT. */
export const VXLAN_FTABLE_MAX = 2000;
export const VXLAN_FTABLE_TIMEOUT = 20 * 60;
const VXLAN_FTABLE_MAX_TIMEOUT = 60 * 60 * 24;
/** if_vxlan.c VXLAN_MAX_MTU: IP_MAXPACKET - 60 - udphdr - vxlan header - ETHER_HDR_LEN - CRC - VLAN encap. */
export const VXLAN_MAX_MTU = 65535 - 60 - 8 - 8 - 14 - 4 - 4;
/** sys/net/if.c SIOCSIFMTU: IF_MINMTU, checked before the driver. */
export const IF_MINMTU = 72;

/** The softc's configuration (struct vxlan_softc), with if_vxlan.c vxlan_set_default_config's defaults. */
export interface VxlanConfig {
  /** Unset until vxlanid/vni (VXLAN_VNI_MAX in the kernel). */
  vni?: number;
  /** vxlanlocal: IPv4 or IPv6 address; unset (AF_UNSPEC) by default. */
  local?: string;
  /** vxlanremote or vxlangroup (a multicast address makes it a group). */
  remote?: string;
  localPort: number;
  remotePort: number;
  /** Source port range of the outer UDP header (V_ipport_firstauto..lastauto). */
  portMin: number;
  portMax: number;
  /** IPDEFTTL. */
  ttl: number;
  learn: boolean;
  /** vxlandev: the multicast interface. */
  dev?: string;
  timeout: number;
  maxaddr: number;
  /** VXLAN_FLAG_USER_MTU: set by `mtu`; the MTU no longer follows the remote address. */
  userMtu: boolean;
}

export function vxlanDefaults(): VxlanConfig {
  return { localPort: VXLAN_PORT, remotePort: VXLAN_PORT, portMin: 10000, portMax: 65535, ttl: 64, learn: true, timeout: VXLAN_FTABLE_TIMEOUT, maxaddr: VXLAN_FTABLE_MAX, userMtu: false };
}

type Family = 4 | 6;

function familyOf(addr: string | undefined): Family | undefined {
  if (addr === undefined) return undefined;
  return isIPv4(addr) ? 4 : 6;
}

export function isMulticast(addr: string): boolean {
  if (isIPv4(addr)) return Number(addr.split('.')[0]) >= 224 && Number(addr.split('.')[0]) <= 239;
  return /^ff/i.test(addr);
}

/**
 * The MTU if_vxlan.c vxlan_setup_interface_hdrlen gives: ETHERMTU less the Ethernet header,
 * UDP + VXLAN headers (16) and the outer IP header of the remote's family (none while unset).
 */
export function vxlanDefaultMtu(cfg: Pick<VxlanConfig, 'remote'>): number {
  const ip = familyOf(cfg.remote) === 4 ? 20 : familyOf(cfg.remote) === 6 ? 40 : 0;
  return 1500 - (14 + 16 + ip);
}

/** ifvxlan.c get_val(): strtoul(cp, &end, 0) that consumed the whole word without ERANGE. */
export function getVal(word: string): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(word);
  if (!m) return undefined;
  const digits = m[2] as string;
  let v = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const max = (1n << 64n) - 1n;
  if (v > max) return undefined;
  // strtoul negates in unsigned arithmetic: "-1" is ULONG_MAX.
  if (m[1] === '-' && v !== 0n) v = max + 1n - v;
  return v;
}

/** getaddrinfo(3) of a numeric address; the emulated host resolves no names. */
function parseAddress(word: string, what: 'local' | 'remote' | 'group'): string {
  const a = word.includes(':') ? word.split('%')[0] as string : word;
  if (isIPv4(a) || isIPv6(a)) return canonical(a);
  throw new ToolError(`error in parsing ${what} address string: hostname nor servname provided, or not known`);
}

/** inet_ntop's spelling of an address (getnameinfo NI_NUMERICHOST): lower case, longest zero run compressed. */
export function canonical(addr: string): string {
  if (isIPv4(addr)) return addr;
  return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
}

/** Words that only ifconfig's vxlan code knows (ifvxlan.c vxlan_cmds), with their argument count. */
export const VXLAN_WORDS: ReadonlyMap<string, number> = new Map([
  ['vni', 1],
  ['vxlanid', 1],
  ['vxlanlocal', 1],
  ['vxlanremote', 1],
  ['vxlangroup', 1],
  ['vxlanlocalport', 1],
  ['vxlanremoteport', 1],
  ['vxlanportrange', 2],
  ['vxlantimeout', 1],
  ['vxlanmaxaddr', 1],
  ['vxlandev', 1],
  ['vxlanttl', 1],
  ['vxlanlearn', 0],
  ['-vxlanlearn', 0],
  ['vxlanflush', 0],
  ['vxlanflushall', 0],
]);

/** The words that also exist as create-time (clone) parameters: all but the flushes. */
export function isCloneWord(word: string): boolean {
  return VXLAN_WORDS.has(word) && word !== 'vxlanflush' && word !== 'vxlanflushall';
}

/**
 * A vxlan word as ifconfig checks it before anything reaches the kernel (the errx calls of
 * ifvxlan.c), as a change to apply. `cmd` names the kernel command for its error texts.
 */
export interface VxlanChange {
  cmd: string;
  /** The kernel refuses it with EBUSY while the interface runs (vxlan_can_change_config). */
  needsStopped: boolean;
  /** The kernel check of an existing interface (EINVAL), when ifconfig's own check is weaker. */
  kernelInvalid?: boolean;
  apply(cfg: VxlanConfig, create: CreateFlags | undefined): void;
}

/** VXLAN_PARAM_WITH_* address flags of a create, for vxlan_check_params. */
export interface CreateFlags {
  local4?: boolean;
  local6?: boolean;
  remote4?: boolean;
  remote6?: boolean;
}

export function parseVxlanWord(word: string, args: readonly string[]): VxlanChange {
  const a0 = args[0] as string;
  switch (word) {
    case 'vni':
    case 'vxlanid': {
      const v = getVal(a0);
      if (v === undefined || v >= BigInt(VXLAN_VNI_MAX)) throw new ToolError(`invalid network identifier: ${a0}`);
      return { cmd: 'VXLAN_CMD_SET_VNI', needsStopped: true, apply: (c) => (c.vni = Number(v)) };
    }
    case 'vxlanlocal': {
      const addr = parseAddress(a0, 'local');
      if (isMulticast(addr)) throw new ToolError('local address cannot be multicast');
      return {
        cmd: 'VXLAN_CMD_SET_LOCAL_ADDR',
        needsStopped: true,
        apply: (c, f) => {
          c.local = addr;
          if (f) f[familyOf(addr) === 4 ? 'local4' : 'local6'] = true;
        },
      };
    }
    case 'vxlanremote':
    case 'vxlangroup': {
      const what = word === 'vxlanremote' ? 'remote' : 'group';
      const addr = parseAddress(a0, what);
      if (what === 'remote' && isMulticast(addr)) throw new ToolError('remote address cannot be multicast');
      if (what === 'group' && !isMulticast(addr)) throw new ToolError('group address must be multicast');
      return {
        cmd: 'VXLAN_CMD_SET_REMOTE_ADDR',
        needsStopped: true,
        apply: (c, f) => {
          c.remote = addr;
          // vxlan_ctrl_set_remote_addr -> vxlan_setup_interface_hdrlen (the MTU follows unless set by hand).
          if (f) f[familyOf(addr) === 4 ? 'remote4' : 'remote6'] = true;
        },
      };
    }
    case 'vxlanlocalport':
    case 'vxlanremoteport': {
      const side = word === 'vxlanlocalport' ? 'local' : 'remote';
      const v = getVal(a0);
      if (v === undefined || v >= 65535n) throw new ToolError(`invalid ${side} port: ${a0}`);
      return {
        cmd: side === 'local' ? 'VXLAN_CMD_SET_LOCAL_PORT' : 'VXLAN_CMD_SET_REMOTE_PORT',
        needsStopped: true,
        // vxlan_ctrl_set_*_port: EINVAL for port 0 (a create takes it, and vxlan_init then fails).
        kernelInvalid: v === 0n,
        apply: (c) => {
          if (side === 'local') c.localPort = Number(v);
          else c.remotePort = Number(v);
        },
      };
    }
    case 'vxlanportrange': {
      const a1 = args[1] as string;
      const min = getVal(a0);
      if (min === undefined || min >= 65535n) throw new ToolError(`invalid port range minimum: ${a0}`);
      const max = getVal(a1);
      if (max === undefined || max >= 65535n) throw new ToolError(`invalid port range maximum: ${a1}`);
      if (max < min) throw new ToolError('invalid port range');
      return {
        cmd: 'VXLAN_CMD_SET_PORT_RANGE',
        needsStopped: true,
        apply: (c) => {
          c.portMin = Number(min);
          c.portMax = Number(max);
        },
      };
    }
    case 'vxlantimeout': {
      const v = getVal(a0);
      if (v === undefined || v > 0xffffffffn) throw new ToolError(`invalid timeout value: ${a0}`);
      // vxlan_check_ftable_timeout: EINVAL on an existing interface, ignored by a create.
      const ok = v <= BigInt(VXLAN_FTABLE_MAX_TIMEOUT);
      return { cmd: 'VXLAN_CMD_SET_FTABLE_TIMEOUT', needsStopped: false, kernelInvalid: !ok, apply: (c) => ok && (c.timeout = Number(v)) };
    }
    case 'vxlanmaxaddr': {
      const v = getVal(a0);
      if (v === undefined || v > 0xffffffffn) throw new ToolError(`invalid maxaddr value: ${a0}`);
      const ok = v <= BigInt(VXLAN_FTABLE_MAX);
      return { cmd: 'VXLAN_CMD_SET_FTABLE_MAX', needsStopped: false, kernelInvalid: !ok, apply: (c) => ok && (c.maxaddr = Number(v)) };
    }
    case 'vxlandev': {
      const name = a0.slice(0, 15);
      return {
        cmd: 'VXLAN_CMD_SET_MULTICAST_IF',
        needsStopped: true,
        apply: (c) => {
          if (name === '') delete c.dev;
          else c.dev = name;
        },
      };
    }
    case 'vxlanttl': {
      const v = getVal(a0);
      if (v === undefined || v > 256n) throw new ToolError(`invalid TTL value: ${a0}`);
      // Both paths store it in a uint8_t: 256 becomes 0.
      return { cmd: 'VXLAN_CMD_SET_TTL', needsStopped: false, apply: (c) => (c.ttl = Number(v) & 0xff) };
    }
    case 'vxlanlearn':
    case '-vxlanlearn':
      return { cmd: 'VXLAN_CMD_SET_LEARN', needsStopped: false, apply: (c) => (c.learn = word === 'vxlanlearn') };
    case 'vxlanflush':
    case 'vxlanflushall':
      // The forwarding table is Linux's (not shown by the emulator): nothing to change.
      return { cmd: 'VXLAN_CMD_FLUSH', needsStopped: false, apply: () => undefined };
  }
  throw new Error(`not a vxlan word: ${word}`);
}

/** ifvxlan.c vxlan_check_params(), run before the create ioctl. */
export function checkCreateFlags(f: CreateFlags): void {
  if (f.local4 && f.local6) throw new ToolError('cannot specify both local IPv4 and IPv6 addresses');
  if (f.remote4 && f.remote6) throw new ToolError('cannot specify both remote IPv4 and IPv6 addresses');
  if ((f.local4 && f.remote6) || (f.local6 && f.remote4)) throw new ToolError('cannot mix IPv4 and IPv6 addresses');
}

/** The line ifvxlan.c vxlan_status prints (without the tab), or nothing while no VNI is set. */
export function vxlanStatusLine(cfg: VxlanConfig): string | undefined {
  if (cfg.vni === undefined) return undefined;
  // getnameinfo of an AF_UNSPEC address fails: host and port print as empty strings. The
  // brackets follow the remote's family alone.
  const v6 = familyOf(cfg.remote) === 6;
  const end = (addr: string | undefined, port: number) => {
    const [host, serv] = addr === undefined ? ['', ''] : [addr, String(port)];
    return v6 ? `[${host}]:${serv}` : `${host}:${serv}`;
  };
  const mc = cfg.remote !== undefined && isMulticast(cfg.remote);
  return `vxlan vni ${cfg.vni} local ${end(cfg.local, cfg.localPort)} ${mc ? 'group' : 'remote'} ${end(cfg.remote, cfg.remotePort)}`;
}

// ---- vxlan_init -------------------------------------------------------------------------------

/** A RUNNING vxlan interface of the same vnet, for the socket checks of vxlan_setup_socket. */
export interface RunningVxlan {
  name: string;
  cfg: VxlanConfig;
}

/**
 * Why vxlan_init would leave the interface not RUNNING, in the words if_vxlan.c prints on the
 * console; undefined when it starts. `localAddresses` are the vnet's addresses (the socket is
 * bound to vxlanlocal), `others` the vnet's running vxlan interfaces.
 */
export function initProblem(cfg: VxlanConfig, localAddresses: readonly string[], others: readonly RunningVxlan[]): string | undefined {
  // vxlan_valid_init_config()
  if (cfg.vni === undefined) return 'cannot initialize interface: invalid virtual network identifier specified';
  if (cfg.remote === undefined) return 'cannot initialize interface: destination address type is not supported';
  if (cfg.remote === '0.0.0.0' || cfg.remote === '::') return 'cannot initialize interface: no valid destination address specified';
  const mc = isMulticast(cfg.remote);
  if (!mc && cfg.dev !== undefined) return 'cannot initialize interface: can only specify interface with a group address';
  if (cfg.local !== undefined && cfg.local !== '0.0.0.0' && cfg.local !== '::' && familyOf(cfg.local) !== familyOf(cfg.remote)) {
    return 'cannot initialize interface: source and destination address must both be either IPv4 or IPv6';
  }
  if (cfg.localPort === 0) return 'cannot initialize interface: local port not specified';
  if (cfg.remotePort === 0) return 'cannot initialize interface: remote port not specified';
  // Linux sends to a group at its listening port only.
  if (mc && cfg.remotePort !== cfg.localPort) return `group ${cfg.remote} with remote port ${cfg.remotePort} and local port ${cfg.localPort} (the emulator cannot run a group on two ports)`;
  // vxlan_setup_socket -> vxlan_socket_create: socreate() of the local address's family, which
  // fails for the AF_UNSPEC of an interface without vxlanlocal (EAFNOSUPPORT, 47).
  if (cfg.local === undefined) return 'cannot create socket (error: 47), and no existing socket found';
  const wildcard = cfg.local === '0.0.0.0' || cfg.local === '::';
  // sobind() of the local address (a unicast socket; a group socket binds the wildcard address
  // and joins through the interface holding vxlanlocal): EADDRNOTAVAIL (49) when the vnet lacks it.
  if (!wildcard && !localAddresses.some((a) => canonical(a) === cfg.local)) return 'cannot create socket (error: 49), and no existing socket found';
  const key = (c: VxlanConfig) => (isMulticast(c.remote as string) || c.local === '0.0.0.0' || c.local === '::' ? '*' : (c.local as string));
  const mine = key(cfg);
  for (const o of others) {
    if (o.cfg.localPort !== cfg.localPort || familyOf(o.cfg.local) !== familyOf(cfg.local)) continue;
    const theirs = key(o.cfg);
    // One socket per local address and port, each VNI once in it (vxlan_socket_insert_softc).
    if (theirs === mine && o.cfg.vni === cfg.vni) return `network identifier ${cfg.vni} already exists in this socket`;
    // A wildcard and a specific address on the same port: the second bind fails (EADDRINUSE)
    // and no socket of this address exists to share.
    if (theirs !== mine && (theirs === '*' || mine === '*')) return 'cannot create socket (error: 48), and no existing socket found';
    // Linux keys its vxlan devices by VNI and port alone, where FreeBSD keys them by address,
    // port and VNI: the emulator cannot run this one (the conservative reading).
    if (o.cfg.vni === cfg.vni) return `network identifier ${cfg.vni} already exists on port ${cfg.localPort} of ${o.name} (the emulator cannot run two interfaces with one VNI on one port)`;
  }
  return undefined;
}

/**
 * Linux learns a peer at its own dstport, FreeBSD at the remote port (vxlan_ftable_learn): with
 * two ports, the Linux device does not learn and sends everything to the default destination.
 */
export function linuxLearns(cfg: VxlanConfig): boolean {
  return cfg.learn && cfg.localPort === cfg.remotePort;
}

/**
 * The `type vxlan ...` words of `ip link add` for a configuration that passed initProblem, and
 * the default forwarding entry that needs `bridge fdb` (Linux listens on and sends to one port,
 * `dstport`: a remote port that differs from the local one is the port of the all-zeros entry).
 * `lowerDev` is the interface a group is joined on (vxlandev, or the one holding vxlanlocal).
 */
export function linuxVxlanArgs(cfg: VxlanConfig, lowerDev?: string): { type: string; defaultEntry?: { dst: string; port: number } } {
  const mc = isMulticast(cfg.remote as string);
  const samePort = cfg.localPort === cfg.remotePort;
  const words = [`id ${cfg.vni}`, `local ${cfg.local}`, `dstport ${cfg.localPort}`];
  if (mc) words.push(`group ${cfg.remote}`, `dev ${lowerDev}`);
  else if (samePort) words.push(`remote ${cfg.remote}`);
  // Linux's source port range is [low, high); FreeBSD's is inclusive.
  words.push(`srcport ${cfg.portMin} ${Math.min(cfg.portMax + 1, 65535)}`, `ttl ${cfg.ttl}`, `ageing ${cfg.timeout}`, `maxaddress ${cfg.maxaddr}`, linuxLearns(cfg) ? 'learning' : 'nolearning');
  const type = `vxlan ${words.join(' ')}`;
  if (samePort) return { type };
  return { type, defaultEntry: { dst: cfg.remote as string, port: cfg.remotePort } };
}
