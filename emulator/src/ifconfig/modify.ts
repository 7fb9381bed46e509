import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolError, type EmuContext } from '../context';
import { findJail, isJid, jailNotFoundMessage, type Vnet } from '../jails';
import { ALIAS_MAX, encodeMeta, metaOf, setMetaLine, type IfMeta } from '../meta';
import { BRIDGE, errnoText, ipBatch, q, readLinks, type BatchLine, type LinuxLink } from '../netns';
import { run as runHelper } from '../exec';
import { stateSysctl, syncAcceptRa } from '../sysctl';
import { freeUnits, takeUnit, takenUnits, type Cloner } from '../units';
import { classfulPrefix, linkLocalOf, parseInet, parseInet6, parseMac, parseNetmask, sameInet6 } from './addresses';
import { broadcastOf, hasAutoLinklocal, isUp } from './format';
import { IFNAME_MAX, toFreeBSD, toLinux } from './names';
import {
  checkCreateFlags,
  IF_MINMTU,
  initProblem,
  isCloneWord,
  isMulticast,
  linuxLearns,
  linuxVxlanArgs,
  parseVxlanWord,
  VXLAN_MAX_MTU,
  VXLAN_WORDS,
  vxlanDefaultMtu,
  vxlanDefaults,
  type CreateFlags,
  type VxlanConfig,
} from './vxlan';

/**
 * `ifconfig IF word...`: the words are checked against a model of the namespace's links and
 * turned into one `ip -batch` run. As on FreeBSD, the words before a failing one take effect,
 * address changes are applied after all other words, and an address brings the interface up.
 */

/** Words that FreeBSD accepts and that change nothing the emulator models (capabilities etc.). */
const NOOP0 = new Set(
  [
    'txcsum', 'rxcsum', 'txcsum6', 'rxcsum6', 'tso', 'tso4', 'tso6', 'lro', 'vlanmtu', 'vlanhwtag', 'vlanhwcsum',
    'vlanhwfilter', 'vlanhwtso', 'arp', 'debug', 'monitor', 'staticarp', 'wol', 'wol_ucast', 'wol_mcast', 'wol_magic',
    'link0', 'link1', 'link2', 'nomap', 'txtls', 'txtlsrtlmt', 'hwrxtstmp', 'mextpg', 'netcons', 'polling', 'toe',
    'txrtlmt', 'vxlanhwcsum', 'vxlanhwtso', 'auto_linklocal', 'nud', 'no_radr', 'no_dad',
    'prefer_source', 'no_prefer_iface', 'defaultif', 'ipv6_only', 'anycast', 'tentative', 'deprecated', 'autoconf',
    'eui64', 'normal', 'compress', 'noicmp',
  ].flatMap((w) => [w, `-${w}`]),
);
const NOOP1 = new Set(['metric', 'pltime', 'vltime', 'fib', 'tunnelfib', 'pcp', 'media', 'mediaopt', '-mediaopt', 'mode']);
const BRIDGE_NOOP0 = new Set(['flush', 'flushall', 'addr']);
const BRIDGE_NOOP1 = new Set([
  'stp', '-stp', 'edge', '-edge', 'autoedge', '-autoedge', 'ptp', '-ptp', 'autoptp', '-autoptp', 'sticky', '-sticky',
  'span', '-span', 'maxaddr', 'timeout', 'hellotime', 'fwddelay', 'maxage', 'priority', 'proto', 'holdcnt', 'deladdr',
  'discover', '-discover', 'untagged', '-untagged', 'tagged', '-tagged',
]);
const BRIDGE_NOOP2 = new Set(['ifpriority', 'ifpathcost', 'ifmaxaddr', 'static']);
const AFS = new Set(['inet', 'inet6', 'link', 'ether', 'lladdr']);

type Af = 'inet' | 'inet6' | 'link';

function afOf(word: string): Af {
  return word === 'inet' || word === 'inet6' ? word : 'link';
}

function randomMac(prefix: number[], last?: number): string {
  const b = [...prefix, ...randomBytes(6 - prefix.length)];
  if (last !== undefined) b[5] = last;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A link name Linux accepts (FreeBSD accepts more; those are refused as an invalid argument). */
function linuxNameOk(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[\s/:]/.test(name);
}

interface Ops {
  setaddr?: { addr: string; prefix?: number };
  netmask?: number;
  broadcast?: string;
  prefixlen?: number;
  doalias: 0 | 1 | -1;
}

export interface ModifyResult {
  stdout: string;
}

export class IfconfigSession {
  private readonly lines: BatchLine[] = [];
  private links: LinuxLink[] = [];
  private cur!: LinuxLink;
  private meta!: IfMeta;
  private metaDirty = false;
  private af: Af = 'inet';
  private ops: Ops = { doalias: 0 };
  private printName = false;
  private combinedCreateAndName = false;
  private created = false;
  private gone = false;
  private hostAddrChanged = false;
  private pendingError?: string;
  private readonly unitsTaken: { cloner: Cloner; unit: number }[] = [];
  private readonly unitsFreed: { home: number; cloner: Cloner; unit: number }[] = [];
  /** Runs in another namespace before this session's own batch (ifconfig IF -vnet J). */
  private readonly preBatches: { ns: string; lines: BatchLine[] }[] = [];
  /** `bridge fdb` commands to run after the batch (a vxlan's default destination on another port). */
  private readonly fdbAppends: string[][] = [];
  /** What if_printf would print on the console (vxlan_init failures): appended to `<dir>/messages`. */
  private readonly console: string[] = [];
  /** Interfaces (Linux names) whose ACCEPT_RTADV this command set or cleared. */
  private readonly rtadvChanged = new Set<string>();
  /**
   * Set when this command changed the host's vnet (addresses, interfaces, names, groups): the
   * caller then runs the emulated pf's refresh, after releasing the state lock.
   */
  needsPfRefresh = false;

  constructor(
    private readonly ctx: EmuContext,
    private readonly vnet: Vnet,
  ) {}

  private emit(cmd: string, onError: BatchLine['onError']): void {
    this.lines.push({ cmd, onError });
  }

  private find(name: string): LinuxLink | undefined {
    const ln = toLinux(name);
    return this.links.find((l) => l.ifname === ln);
  }

  private get name(): string {
    return this.cur.ifname;
  }

  private fail(message: string): never {
    throw new ToolError(message);
  }

  async run(ifname: string, words: string[]): Promise<ModifyResult> {
    if (this.vnet.jail && !this.vnet.jail.vnet) {
      const w = words[0] ?? '';
      throw new ToolError(AFS.has(w) || /^[0-9a-fA-F:.]+(\/\d+)?$/.test(w) ? 'ioctl (SIOCAIFADDR): permission denied' : `${w}: permission denied`);
    }
    this.links = await readLinks(this.vnet.ns);
    const existing = this.find(ifname);
    if (!existing) {
      if (words[0] === 'create' || words[0] === 'plumb') {
        if (ifname.length > IFNAME_MAX) this.fail(`${ifname}: cloning name too long`);
        words.shift();
        this.create(ifname, words);
      } else if (words[0] === '-vnet') {
        if (ifname.length > IFNAME_MAX) this.fail(`${ifname}: interface name too long`);
        const jail = words[1];
        if (jail === undefined) this.fail("'-vnet' requires argument");
        const back = await this.reclaim(ifname, jail);
        words.splice(0, 2);
        if (words.length === 0) return this.execute();
        const moved: LinuxLink = { ...back, addr_info: [], flags: back.flags.filter((f) => f !== 'UP') };
        delete moved.master;
        this.links.push(moved);
        this.select(moved);
      } else {
        this.fail(`interface ${ifname} does not exist`);
      }
    } else {
      if (words[0] === 'create' || words[0] === 'plumb') {
        if (words.length === 1) this.fail(`interface ${ifname} already exists`);
        words.shift();
      }
      this.select(existing);
    }
    if (words.length > 0 && AFS.has(words[0] as string)) this.af = afOf(words.shift() as string);
    this.combinedCreateAndName = this.created && words.includes('name');
    try {
      await this.words(words);
      if (!this.gone) this.finishAddresses();
    } catch (err) {
      if (!(err instanceof ToolError)) throw err;
      this.pendingError = err.message;
    }
    if (!this.gone) this.flushMeta();
    return this.execute();
  }

  private select(link: LinuxLink): void {
    this.cur = link;
    this.meta = metaOf(link);
  }

  private setMeta(change: (m: IfMeta) => void): void {
    change(this.meta);
    this.metaDirty = true;
  }

  private flushMeta(): void {
    if (!this.metaDirty) return;
    if (encodeMeta(this.meta).length > ALIAS_MAX) this.fail('ioctl SIOCSIFDESCR (set descr): File name too long');
    this.emit(setMetaLine(q(this.name), this.meta), (e) => `ioctl SIOCSIFDESCR (set descr): ${errnoText(e)}`);
    this.metaDirty = false;
  }

  // ---- create ---------------------------------------------------------------------------

  private create(ifname: string, rest: string[]): void {
    const m = /^(epair|bridge|vxlan)(\d*)$/.exec(ifname);
    if (!m) this.fail('SIOCIFCREATE2: Invalid argument');
    const cloner = m[1] as Cloner;
    const home = this.vnet.jid;
    const taken = new Set(takenUnits(this.ctx, home, cloner));
    const names = (u: number) => (cloner === 'epair' ? [`epair${u}a`, `epair${u}b`] : [`${cloner}${u}`]);
    let unit: number;
    if (m[2] !== '') {
      unit = Number(m[2]);
      if (taken.has(unit) || names(unit).some((n) => this.find(n))) this.fail(`interface ${ifname} already exists`);
    } else {
      unit = 0;
      while (taken.has(unit) || names(unit).some((n) => this.find(n))) unit++;
    }
    const err = (e: string) => `SIOCIFCREATE2: ${errnoText(e)}`;
    if (cloner === 'epair') {
      const [a, b] = names(unit) as [string, string];
      const prefix = [0x02, ...randomBytes(4)];
      const macA = randomMac(prefix, 0x0a);
      this.emit(`link add ${a} address ${macA} type veth peer name ${b} address ${randomMac(prefix, 0x0b)}`, err);
      const metaB: IfMeta = { kind: 'epair', unit, side: 'b', home, ifdisabled: true, groups: ['epair'], ...this.rtadvDefault() };
      this.emit(`link set dev ${b} addrgenmode none`, err);
      this.emit(setMetaLine(b, metaB), err);
      this.emit(`link set dev ${a} addrgenmode none`, err);
      const link: LinuxLink = { ifindex: 0, ifname: a, flags: ['BROADCAST', 'MULTICAST'], mtu: 1500, addr_info: [], ifalias: encodeMeta({ ...metaB, side: 'a' }) };
      if (metaB.acceptRtadv) this.rtadvChanged.add(a).add(b);
      link.address = macA;
      this.links.push(link, { ifindex: 0, ifname: b, flags: ['BROADCAST', 'MULTICAST'], mtu: 1500, addr_info: [] });
      this.select(link);
    } else if (cloner === 'vxlan') {
      this.createVxlan(unit, rest, err);
    } else {
      const br = `bridge${unit}`;
      this.emit(`link add ${br} address ${randomMac([0x58, 0x9c, 0xfc])} type bridge stp_state 0 forward_delay 0`, err);
      this.emit(`link set dev ${br} addrgenmode none`, err);
      const link: LinuxLink = { ifindex: 0, ifname: br, flags: ['BROADCAST', 'MULTICAST'], mtu: 1500, addr_info: [], ifalias: encodeMeta({ kind: 'bridge', unit, home, ifdisabled: true, groups: ['bridge'], ...this.rtadvDefault() }) };
      if (this.rtadvDefault().acceptRtadv) this.rtadvChanged.add(br);
      this.links.push(link);
      this.select(link);
    }
    this.metaDirty = true;
    this.created = true;
    this.unitsTaken.push({ cloner, unit });
  }

  /**
   * `ifconfig vxlan create [vxlan words]`: the vxlan words right after `create` are create
   * parameters (ifvxlan.c's DEF_CLONE_CMD entries, collected until the first other word, then
   * checked by vxlan_check_params before the interface exists: a failure creates nothing).
   * Not running yet: the Linux device is an ifb until vxlan_init (see vxlan.ts).
   */
  private createVxlan(unit: number, rest: string[], err: (e: string) => string): void {
    const name = `vxlan${unit}`;
    const cfg = vxlanDefaults();
    const flags: CreateFlags = {};
    while (rest.length > 0 && isCloneWord(rest[0] as string)) {
      const w = rest[0] as string;
      const n = VXLAN_WORDS.get(w) as number;
      if (rest.length <= n) this.fail(n === 1 ? `'${w}' requires argument` : `'${w}' requires 2 arguments`);
      parseVxlanWord(w, rest.slice(1, 1 + n)).apply(cfg, flags);
      rest.splice(0, 1 + n);
    }
    checkCreateFlags(flags);
    // vxlan_clone_create: ether_gen_addr (FreeBSD's OUI), then vxlan_setup_interface_hdrlen.
    const mac = randomMac([0x58, 0x9c, 0xfc]);
    const mtu = vxlanDefaultMtu(cfg);
    this.emit(`link add ${name} address ${mac} mtu ${mtu} type ifb`, err);
    this.emit(`link set dev ${name} addrgenmode none`, err);
    const meta: IfMeta = { kind: 'vxlan', unit, home: this.vnet.jid, ifdisabled: true, groups: ['vxlan'], vxlan: cfg, ...this.rtadvDefault() };
    const link: LinuxLink = { ifindex: 0, ifname: name, flags: ['BROADCAST', 'MULTICAST'], mtu, addr_info: [], address: mac, linkinfo: { info_kind: 'ifb' }, ifalias: encodeMeta(meta) };
    if (meta.acceptRtadv) this.rtadvChanged.add(name);
    this.links.push(link);
    this.select(link);
  }

  // ---- vxlan ------------------------------------------------------------------------------

  private get vxlanCfg(): VxlanConfig {
    return this.meta.vxlan as VxlanConfig;
  }

  /**
   * IFF_DRV_RUNNING of a vxlan interface in this command's model: a Linux vxlan device exists
   * only while the FreeBSD interface runs (an ifb stands in otherwise), whatever IFF_UP says.
   */
  private vxlanStarted(link: LinuxLink = this.cur): boolean {
    return link.linkinfo?.info_kind === 'vxlan';
  }

  /** A vxlan word on an existing interface: ifconfig's checks, then the kernel's (if_vxlan.c vxlan_ctrl_*). */
  private vxlanWord(word: string, args: string[]): void {
    const change = parseVxlanWord(word, args);
    if (this.meta.kind !== 'vxlan') {
      // ifvxlan.c: vxlan_exists() fails, so the value is kept for a create that never comes;
      // only the flush goes to the driver, which does not know it.
      if (word === 'vxlanflush' || word === 'vxlanflushall') this.fail(`${change.cmd}: Invalid argument`);
      return;
    }
    if (change.kernelInvalid) this.fail(`${change.cmd}: Invalid argument`);
    const running = this.vxlanStarted();
    if (change.needsStopped && running) this.fail(`${change.cmd}: Device busy`);
    this.setMeta((m) => change.apply(m.vxlan as VxlanConfig, undefined));
    const cfg = this.vxlanCfg;
    const nm = q(this.name);
    if ((word === 'vxlanremote' || word === 'vxlangroup') && !cfg.userMtu && this.cur.mtu !== vxlanDefaultMtu(cfg)) {
      this.cur.mtu = vxlanDefaultMtu(cfg);
      this.emit(`link set dev ${nm} mtu ${this.cur.mtu}`, (e) => `${change.cmd}: ${errnoText(e)}`);
    }
    if (!running) return;
    // Changes a running interface takes; Linux changes these in place (the table size it cannot:
    // the next start applies it).
    const live = word === 'vxlanttl' ? `ttl ${cfg.ttl}` : word === 'vxlantimeout' ? `ageing ${cfg.timeout}` : word.endsWith('vxlanlearn') ? (linuxLearns(cfg) ? 'learning' : 'nolearning') : undefined;
    if (live) this.emit(`link set dev ${nm} type vxlan ${live}`, (e) => `${change.cmd}: ${errnoText(e)}`);
  }

  /**
   * SIOCSIFFLAGS on a vxlan interface (vxlan_ioctl_ifflags): up and not running starts it
   * (vxlan_init), down and running stops it (vxlan_teardown). Also what an address does
   * (ether_ioctl SIOCSIFADDR calls if_init).
   */
  private vxlanIfflags(): void {
    const running = this.vxlanStarted();
    if (isUp(this.cur) && !running) this.vxlanInit();
    else if (!isUp(this.cur) && running) this.swapLinux({ type: 'ifb' });
  }

  private vxlanInit(): void {
    const cfg = this.vxlanCfg;
    const others = this.links
      .filter((l) => l !== this.cur && metaOf(l).kind === 'vxlan' && this.vxlanStarted(l))
      .map((l) => ({ name: toFreeBSD(l.ifname), cfg: metaOf(l).vxlan as VxlanConfig }));
    const addresses = this.links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
    let problem = initProblem(cfg, addresses, others);
    let lower: LinuxLink | undefined;
    if (!problem && isMulticast(cfg.remote as string)) {
      // The group is joined on vxlandev (vxlan_setup_multicast_interface) or, without it, on the
      // interface that holds vxlanlocal (IP_ADD_MEMBERSHIP's imr_interface); Linux needs it named.
      lower = cfg.dev !== undefined ? this.find(cfg.dev) : this.links.find((l) => (l.addr_info ?? []).some((a) => a.local === cfg.local));
      if (!lower) problem = `multicast interface ${cfg.dev} does not exist`;
      else if (this.cur.mtu > lower.mtu - (1500 - vxlanDefaultMtu(cfg))) {
        problem = `mtu ${this.cur.mtu} over ${toFreeBSD(lower.ifname)} (the emulator cannot run it: Linux caps a group's MTU at the MTU of its interface less the encapsulation)`;
      }
    }
    if (problem) {
      this.console.push(`${toFreeBSD(this.name)}: ${problem}`);
      return;
    }
    const args = linuxVxlanArgs(cfg, lower?.ifname);
    this.swapLinux({ type: args.type });
    if (args.defaultEntry) this.fdbAppends.push(['fdb', 'append', '00:00:00:00:00:00', 'dev', this.name, 'dst', args.defaultEntry.dst, 'port', String(args.defaultEntry.port), 'self', 'permanent']);
  }

  /**
   * Replaces the Linux device behind the current vxlan interface (ifb <-> vxlan) and carries
   * over what FreeBSD keeps on the interface: name, MAC, MTU, metadata, flags, bridge
   * membership and addresses. A new device is made first under a temporary name, so a refusal
   * by Linux leaves the old one as it was.
   */
  private swapLinux(to: { type: string }): void {
    const c = this.cur;
    const nm = q(this.name);
    const tmp = `jnx${randomBytes(4).toString('hex')}`;
    const err = (e: string) => `emulator: cannot ${to.type === 'ifb' ? 'stop' : 'start'} ${toFreeBSD(this.name)} on Linux: ${e.trim()}`;
    this.emit(`link add ${tmp} address ${c.address} mtu ${c.mtu} type ${to.type}`, err);
    this.emit(`link set dev ${tmp} addrgenmode none`, err);
    this.emit(`link del dev ${nm}`, err);
    this.emit(`link set dev ${tmp} name ${nm}`, err);
    this.emit(setMetaLine(nm, this.meta), err);
    this.metaDirty = false;
    if (c.flags.includes('PROMISC')) this.emit(`link set dev ${nm} promisc on`, err);
    if (c.master) {
      const sd = c.linkinfo?.info_slave_data ?? {};
      this.emit(`link set dev ${nm} master ${q(c.master)}`, err);
      this.emit(`link set dev ${nm} type bridge_slave isolated ${sd['isolated'] === true ? 'on' : 'off'} learning ${sd['learning'] === false ? 'off' : 'on'}`, err);
    }
    for (const a of c.addr_info ?? []) {
      if (a.family === 'inet') this.emit(`addr add ${a.local}/${a.prefixlen} broadcast ${a.broadcast ?? broadcastOf(a.local, a.prefixlen)} dev ${nm}`, err);
      else this.emit(`addr add ${a.local}/${a.prefixlen} dev ${nm} nodad`, err);
    }
    if (isUp(c)) this.emit(`link set dev ${nm} up`, err);
    c.linkinfo = { ...c.linkinfo, info_kind: to.type === 'ifb' ? 'ifb' : 'vxlan' };
  }

  /** nd6_ifattach: a new interface gets ACCEPT_RTADV when net.inet6.ip6.accept_rtadv is 1. */
  private rtadvDefault(): Pick<IfMeta, 'acceptRtadv'> {
    return stateSysctl(this.ctx, this.vnet, 'net.inet6.ip6.accept_rtadv') !== '0' ? { acceptRtadv: true } : {};
  }

  // ---- vnet moves -------------------------------------------------------------------------

  /** `ifconfig IF -vnet J`: takes IF back from jail J into this vnet. */
  private async reclaim(ifname: string, jailArg: string): Promise<LinuxLink> {
    const jail = findJail(this.ctx, jailArg);
    // setifrvnet: jail_getid() fails for a name; a JID goes to the ioctl, which finds no such
    // prison (ENXIO).
    if (!jail) this.fail(isJid(jailArg) ? `SIOCSIFRVNET(${Number(jailArg)}, ${ifname}): Device not configured` : jailNotFoundMessage(jailArg));
    const jailNs = jail.vnet ? jail.ns : this.ctx.config.hostNs;
    const what = `SIOCSIFRVNET(${jail.jid}, ${ifname})`;
    if (jailNs === this.vnet.ns) this.fail(`${what}: File exists`);
    const inJail = (await readLinks(jailNs)).find((l) => l.ifname === toLinux(ifname));
    if (!inJail) this.fail(`${what}: Device not configured`);
    if (this.find(ifname)) this.fail(`${what}: File exists`);
    this.preBatches.push({ ns: jailNs, lines: [{ cmd: `link set dev ${q(toLinux(ifname))} netns ${this.vnet.ns}`, onError: (e) => `${what}: ${errnoText(e)}` }] });
    return inJail;
  }

  private async moveTo(jailArg: string): Promise<void> {
    const jail = findJail(this.ctx, jailArg);
    // setifvnet (sbin/ifconfig/ifconfig.c): errx with jail_errmsg for a name; a JID goes to the
    // SIOCSIFVNET ioctl, which finds no such prison (ENXIO, if_vmove_loan in sys/net/if.c).
    if (!jail) this.fail(isJid(jailArg) ? 'SIOCSIFVNET: Device not configured' : jailNotFoundMessage(jailArg));
    if (!jail.vnet || jail.ns === this.vnet.ns) this.fail('SIOCSIFVNET: File exists');
    if (this.vnet.jid !== 0) this.fail('SIOCSIFVNET: Operation not permitted');
    if ((await readLinks(jail.ns)).some((l) => l.ifname === this.name)) this.fail('SIOCSIFVNET: File exists');
    this.flushMeta();
    this.emit(`link set dev ${q(this.name)} netns ${jail.ns}`, (e) => `SIOCSIFVNET: ${errnoText(e)}`);
    if (this.addressesOf('inet').length || this.addressesOf('inet6').length) this.hostAddrChanged = true;
    this.gone = true;
  }

  // ---- words ------------------------------------------------------------------------------

  private async words(words: string[]): Promise<void> {
    for (let i = 0; i < words.length && !this.gone; i++) {
      const w = words[i] as string;
      const arg = (n = 1): string => {
        const v = words[i + n];
        if (v === undefined) this.fail(n === 1 ? `'${w}' requires argument` : `'${w}' requires 2 arguments`);
        return v;
      };
      const nm = q(this.name);
      switch (w) {
        case 'up':
          this.bringUp((e) => `up: ${errnoText(e)}`);
          if (this.meta.kind === 'vxlan') this.vxlanIfflags();
          continue;
        case 'down':
          this.emit(`link set dev ${nm} down`, (e) => `down: ${errnoText(e)}`);
          this.cur.flags = this.cur.flags.filter((f) => f !== 'UP');
          if (this.meta.kind === 'vxlan') this.vxlanIfflags();
          continue;
        case 'name': {
          const n = arg();
          i++;
          this.rename(n);
          continue;
        }
        case 'mtu': {
          const v = arg();
          i++;
          const mtu = Number(v);
          const max = this.meta.kind === 'epair' ? 16384 : this.meta.kind === 'vxlan' ? VXLAN_MAX_MTU : 65535;
          if (!/^\d+$/.test(v) || mtu < IF_MINMTU || mtu > max) this.fail('ioctl SIOCSIFMTU (set mtu): Invalid argument');
          this.emit(`link set dev ${nm} mtu ${mtu}`, (e) => `ioctl SIOCSIFMTU (set mtu): ${errnoText(e)}`);
          this.cur.mtu = mtu;
          // vxlan_ioctl SIOCSIFMTU: VXLAN_FLAG_USER_MTU, the MTU stops following the remote.
          if (this.meta.kind === 'vxlan') this.setMeta((m) => ((m.vxlan as VxlanConfig).userMtu = true));
          continue;
        }
        case 'description':
        case 'descr': {
          const d = arg();
          i++;
          this.setMeta((m) => {
            if (d === '') delete m.description;
            else m.description = d;
          });
          continue;
        }
        case '-description':
        case '-descr':
          this.setMeta((m) => delete m.description);
          continue;
        case 'group':
        case '-group': {
          const g = arg();
          i++;
          const fn = w === 'group' ? 'setifgroup' : 'unsetifgroup';
          if (g !== '' && /\d$/.test(g)) this.fail(`${fn}: group names may not end in a digit`);
          if (g.length >= 16) this.fail(`${fn}: group name too long`);
          this.setMeta((m) => {
            if (w === 'group' && !m.groups.includes(g)) m.groups.push(g);
            if (w === '-group') m.groups = m.groups.filter((x) => x !== g);
          });
          continue;
        }
        case 'promisc':
        case '-promisc':
          this.emit(`link set dev ${nm} promisc ${w === 'promisc' ? 'on' : 'off'}`, (e) => `${w}: ${errnoText(e)}`);
          this.cur.flags = [...this.cur.flags.filter((f) => f !== 'PROMISC'), ...(w === 'promisc' ? ['PROMISC'] : [])];
          if (this.meta.kind === 'vxlan') this.vxlanIfflags();
          continue;
        case 'alias':
        case 'add':
          this.ops.doalias = 1;
          continue;
        case '-alias':
        case 'delete':
        case 'remove':
          this.ops.doalias = -1;
          continue;
        case 'netmask':
          this.ops.netmask = parseNetmask(arg());
          i++;
          continue;
        case 'broadcast':
          this.ops.broadcast = arg();
          i++;
          continue;
        case 'prefixlen': {
          const p = arg();
          i++;
          if (!/^\d+$/.test(p) || Number(p) > 128) this.fail(`${p}: bad value`);
          this.ops.prefixlen = Number(p);
          continue;
        }
        case 'ifdisabled':
        case '-ifdisabled':
          this.setMeta((m) => (m.ifdisabled = w === 'ifdisabled'));
          continue;
        case 'accept_rtadv':
        case '-accept_rtadv':
          // af_inet6.c's setnd6flags(ND6_IFF_ACCEPT_RTADV); Linux's accept_ra follows (syncAcceptRa).
          this.setMeta((m) => (m.acceptRtadv = w === 'accept_rtadv'));
          this.rtadvChanged.add(this.name);
          continue;
        case 'vnet':
          await this.moveTo(arg());
          i++;
          continue;
        case '-vnet': {
          // The interface is here; FreeBSD looks for it in the jail and finds it missing or clashing.
          const j = arg();
          i++;
          await this.reclaim(this.name, j);
          continue;
        }
        case 'destroy':
        case 'unplumb':
          this.destroy();
          continue;
        // `ether`, `lladdr` and `link` are address families (af_link.c), read only right after the
        // interface name; anywhere else ifconfig takes them for an address ("ether: bad value").
        case 'addm':
        case 'deletem':
        case 'private':
        case '-private':
        case 'learn':
        case '-learn':
          this.bridgeMember(w, arg());
          i++;
          continue;
      }
      if (VXLAN_WORDS.has(w)) {
        const n = VXLAN_WORDS.get(w) as number;
        // DEF_CMD_ARG2 words say "requires 2 arguments" when either is missing: arg(2) checks first.
        const args = n === 2 ? [arg(2), arg(1)].reverse() : n === 1 ? [arg()] : [];
        i += n;
        this.vxlanWord(w, args);
        continue;
      }
      if (NOOP0.has(w)) continue;
      if (NOOP1.has(w)) {
        arg();
        i++;
        continue;
      }
      if (BRIDGE_NOOP0.has(w) || BRIDGE_NOOP1.has(w) || BRIDGE_NOOP2.has(w)) {
        if (this.meta.kind !== 'bridge') this.fail(`${w}: Invalid argument`);
        const n = BRIDGE_NOOP0.has(w) ? 0 : BRIDGE_NOOP1.has(w) ? 1 : 2;
        if (n > 0) arg(n);
        i += n;
        continue;
      }
      this.address(w);
    }
  }

  private rename(newName: string): void {
    if (newName.length > IFNAME_MAX) this.fail('ioctl SIOCSIFNAME (set name): File name too long');
    const ln = toLinux(newName);
    if (!linuxNameOk(ln) || ln === 'lo') this.fail('ioctl SIOCSIFNAME (set name): Invalid argument');
    if (this.find(newName)) this.fail('ioctl SIOCSIFNAME (set name): File exists');
    const err = (e: string) => `ioctl SIOCSIFNAME (set name): ${errnoText(e)}`;
    const up = isUp(this.cur);
    // Linux refuses to rename a running interface; FreeBSD does not care.
    if (up) this.emit(`link set dev ${q(this.name)} down`, err);
    this.emit(`link set dev ${q(this.name)} name ${q(ln)}`, err);
    if (up) this.emit(`link set dev ${q(ln)} up`, err);
    for (const l of this.links) if (l.master === this.cur.ifname) l.master = ln;
    if (this.rtadvChanged.delete(this.cur.ifname)) this.rtadvChanged.add(ln);
    this.cur.ifname = ln;
    this.printName = true;
  }

  private destroy(): void {
    const m = this.meta;
    if ((m.kind !== 'epair' && m.kind !== 'bridge' && m.kind !== 'vxlan') || m.unit === undefined) this.fail('SIOCIFDESTROY: Invalid argument');
    this.emit(`link del dev ${q(this.name)}`, (e) => `SIOCIFDESTROY: ${errnoText(e)}`);
    this.unitsFreed.push({ home: m.home, cloner: m.kind, unit: m.unit });
    if (this.addressesOf('inet').length || this.addressesOf('inet6').length) this.hostAddrChanged = true;
    this.metaDirty = false;
    this.gone = true;
  }

  private setLladdr(word: string): void {
    const mac = parseMac(word);
    if (Number.parseInt(mac.slice(0, 2), 16) & 1) this.fail('ioctl (SIOCSIFLLADDR): Invalid argument');
    this.emit(`link set dev ${q(this.name)} address ${mac}`, (e) => `ioctl (SIOCSIFLLADDR): ${errnoText(e)}`);
    this.cur.address = mac;
  }

  private bridgeMember(word: string, member: string): void {
    const op = word === 'addm' ? 'BRDGADD' : word === 'deletem' ? 'BRDGDEL' : '';
    const what = op ? `${op} ${member}` : 'unable to get bridge flags';
    if (this.meta.kind !== 'bridge') this.fail(`${what}: Invalid argument`);
    const m = this.find(member);
    if (!m) this.fail(`${what}: No such file or directory`);
    const err = (e: string) => `${op ? what : 'unable to set bridge flags'}: ${errnoText(e)}`;
    if (word === 'addm') {
      if (m === this.cur || metaOf(m).kind === 'bridge' || metaOf(m).kind === 'lo') this.fail(`${what}: Invalid argument`);
      if (m.master === this.name) this.fail(`${what}: File exists`);
      if (m.master) this.fail(`${what}: Device busy`);
      const members = this.links.filter((l) => l.master === this.name);
      // FreeBSD: the first member sets the bridge's MTU, later members are given the bridge's MTU.
      if (members.length === 0) {
        if (this.cur.mtu !== m.mtu) this.emit(`link set dev ${q(this.name)} mtu ${m.mtu}`, err);
        this.cur.mtu = m.mtu;
      } else if (m.mtu !== this.cur.mtu) {
        this.emit(`link set dev ${q(m.ifname)} mtu ${this.cur.mtu}`, err);
        m.mtu = this.cur.mtu;
      }
      this.emit(`link set dev ${q(m.ifname)} master ${q(this.name)}`, err);
      m.master = this.name;
      return;
    }
    if (m.master !== this.name) this.fail(`${what}: No such file or directory`);
    if (word === 'deletem') {
      this.emit(`link set dev ${q(m.ifname)} nomaster`, err);
      delete m.master;
    } else if (word === 'private' || word === '-private') {
      this.emit(`link set dev ${q(m.ifname)} type bridge_slave isolated ${word === 'private' ? 'on' : 'off'}`, err);
    } else {
      this.emit(`link set dev ${q(m.ifname)} type bridge_slave learning ${word === 'learn' ? 'on' : 'off'}`, err);
    }
  }

  /** A word that is no keyword: the address (first) or destination address (second). */
  private address(word: string): void {
    if (this.ops.setaddr) return; // a destination address: point-to-point links are not emulated
    if (this.af === 'link') {
      this.setLladdr(word);
      return;
    }
    this.ops.setaddr = this.af === 'inet' ? parseInet(word) : parseInet6(word);
  }

  private addressesOf(family: 'inet' | 'inet6') {
    return (this.cur.addr_info ?? []).filter((a) => a.family === family);
  }

  /**
   * Brings the interface up. Linux gives lo 127.0.0.1/8 each time it comes up (inetdev_event,
   * NETDEV_UP); FreeBSD's lo0 gets only ::1 (in6_ifattach_loopback, sys/netinet6/in6_ifattach.c)
   * and keeps the IPv4 addresses ifconfig gave it: the Linux one is taken away again unless lo0
   * had it before.
   */
  private bringUp(onError: BatchLine['onError']): void {
    const nm = q(this.name);
    const wasUp = isUp(this.cur);
    this.emit(`link set dev ${nm} up`, onError);
    if (wasUp) return;
    this.cur.flags.push('UP');
    if (this.meta.kind === 'lo' && !this.addressesOf('inet').some((a) => a.local === '127.0.0.1')) this.emit(`addr del 127.0.0.1/8 dev ${nm}`, onError);
  }

  // ---- deferred address operations --------------------------------------------------------

  private finishAddresses(): void {
    const o = this.ops;
    const nm = q(this.name);
    if (o.setaddr && this.af !== 'link') {
      const v6 = this.af === 'inet6';
      const family = v6 ? 'inet6' : 'inet';
      const same = (a: string) => (v6 ? sameInet6(a, o.setaddr!.addr) : a === o.setaddr!.addr);
      const mine = this.addressesOf(family).find((a) => same(a.local));
      const del = (a: { local: string; prefixlen: number }) =>
        this.emit(`addr del ${a.local}/${a.prefixlen} dev ${nm}`, (e) => `ioctl (SIOCDIFADDR): ${errnoText(e)}`);
      if (o.doalias === -1) {
        if (!mine) this.fail("ioctl (SIOCDIFADDR): Can't assign requested address");
        del(mine);
        this.cur.addr_info = (this.cur.addr_info ?? []).filter((a) => a !== mine);
      } else {
        const prefix = v6 ? (o.setaddr.prefix ?? o.prefixlen ?? 64) : (o.setaddr.prefix ?? o.netmask ?? mine?.prefixlen ?? classfulPrefix(o.setaddr.addr));
        // The same address on another interface is allowed, as on FreeBSD (netinet/in.c shares the
        // prefix and loopback routes between such addresses: in_addprefix, in_localip_more).
        if (!v6 && o.doalias === 0) {
          const first = this.addressesOf('inet')[0];
          if (first && first !== mine) {
            del(first);
            this.cur.addr_info = (this.cur.addr_info ?? []).filter((a) => a !== first);
          }
        }
        if (mine) {
          del(mine);
          this.cur.addr_info = (this.cur.addr_info ?? []).filter((a) => a !== mine);
        }
        // An address brings the interface up (ether_ioctl SIOCSIFADDR).
        if (!isUp(this.cur)) this.bringUp((e) => `ioctl (SIOCAIFADDR): ${errnoText(e)}`);
        const err = (e: string) => `ioctl (SIOCAIFADDR): ${errnoText(e)}`;
        // lo gets 127.0.0.1/8 and ::1 from Linux when it goes up: replace, not add.
        const verb = this.meta.kind === 'lo' ? 'replace' : 'add';
        if (v6) {
          this.emit(`addr ${verb} ${o.setaddr.addr}/${prefix} dev ${nm} nodad`, err);
          if (this.meta.ifdisabled) this.setMeta((m) => (m.ifdisabled = false));
        } else {
          const bcast = this.meta.kind === 'lo' ? '' : ` broadcast ${o.broadcast ?? broadcastOf(o.setaddr.addr, prefix)}`;
          this.emit(`addr ${verb} ${o.setaddr.addr}/${prefix}${bcast} dev ${nm}`, err);
        }
        (this.cur.addr_info ??= []).push({ family, local: o.setaddr.addr, prefixlen: prefix });
      }
      if (this.vnet.jid === 0) this.hostAddrChanged = true;
    }
    // ether_ioctl SIOCSIFADDR: the address brought the interface up and called if_init.
    if (o.setaddr && this.af !== 'link' && o.doalias !== -1 && this.meta.kind === 'vxlan') this.vxlanIfflags();
    // AUTO_LINKLOCAL: an enabled, running interface gets its fe80:: address.
    if (isUp(this.cur) && !this.meta.ifdisabled && hasAutoLinklocal(this.meta) && this.meta.kind !== 'lo' && this.cur.address) {
      if (!this.addressesOf('inet6').some((a) => a.local.toLowerCase().startsWith('fe80:'))) {
        this.emit(`addr add ${linkLocalOf(this.cur.address)}/64 dev ${nm} nodad`, (e) => `ioctl (SIOCAIFADDR): ${errnoText(e)}`);
      }
    }
  }

  // ---- execution --------------------------------------------------------------------------

  private async execute(): Promise<ModifyResult> {
    for (const pre of this.preBatches) {
      const r = await ipBatch(pre.ns, pre.lines.map((l) => l.cmd));
      if (!r.ok) throw new ToolError(messageFor(pre.lines[r.failed ?? 0], r.error ?? ''));
      if (this.vnet.jid === 0) this.needsPfRefresh = true;
    }
    const r = await ipBatch(this.vnet.ns, this.lines.map((l) => l.cmd));
    const created = this.created && (r.ok || (r.failed ?? 0) > 0);
    if (created) for (const u of this.unitsTaken) takeUnit(this.ctx, this.vnet.jid, u.cloner, u.unit);
    if (r.ok) freeUnits(this.ctx, this.unitsFreed);
    if (this.vnet.jid === 0 && this.lines.length > 0 && (r.ok || (r.failed ?? 0) > 0)) this.needsPfRefresh = true;
    if (this.hostAddrChanged) this.needsPfRefresh = true;
    if (this.console.length > 0 && (r.ok || (r.failed ?? 0) > 0)) appendFileSync(join(this.ctx.dir, 'messages'), this.console.map((l) => `${l}\n`).join(''));
    if (r.ok) {
      for (const args of this.fdbAppends) {
        const f = await runHelper(BRIDGE, ['-n', this.vnet.ns, ...args]);
        if (f.code !== 0) throw new ToolError(`emulator: cannot set the default destination of ${toFreeBSD(args[4] as string)} on Linux: ${f.stderr.trim()}`);
      }
    }
    if (r.ok && this.rtadvChanged.size > 0 && !this.gone) await syncAcceptRa(this.ctx, this.vnet, [...this.rtadvChanged]);
    if (!r.ok) throw new ToolError(messageFor(this.lines[r.failed ?? 0], r.error ?? ''));
    if (this.pendingError) throw new ToolError(this.pendingError);
    let stdout = '';
    if (this.created && !this.combinedCreateAndName) stdout = `${toFreeBSD(this.name)}\n`;
    else if (this.printName && !this.combinedCreateAndName) stdout = `${toFreeBSD(this.name)}\n`;
    return { stdout };
  }
}

function messageFor(line: BatchLine | undefined, linuxError: string): string {
  if (!line) return `emulator: ${linuxError.trim()}`;
  return typeof line.onError === 'string' ? line.onError : line.onError(linuxError);
}
