import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext, PluginHandlers } from '../cni/skel';
import type { NetConf, Result } from '../cni/types';
import validateTuningConfig from '../config/generated/tuning-config';
import { requireTrustedField } from '../config/trusted-field';
import { validateWith } from '../config/validate';
import { isJailNotFound } from '../freebsd/errors';
import { configureInterface, ifw, showInterface, type IfWord } from '../freebsd/ifconfig';
import type { InterfaceInfo } from '../freebsd/parse/ifconfig';
import { networkName } from '../freebsd/names';
import { getSysctl, setSysctl } from '../freebsd/sysctl';
import { macAddress } from '../freebsd/values';
import { jailFromNetns, jailIfname } from '../jail/target';
import { log } from '../log/logger';
import { sha256Hex } from '../util/digest';
import { runDir } from '../util/file-lock';

/**
 * The `tuning` plugin (chained; nerdctl and podman list it last): what means something for a
 * jail. `mtu`, `mac` and `promisc` on the jail's interface (CNI_IFNAME, in the jail), and
 * `sysctl` entries that FreeBSD keeps per vnet (net.inet.*, net.inet6.*), set in the jail;
 * Linux names are mapped where FreeBSD has the same knob (LINUX_SYSCTLS). Everything else
 * (`allmulti`: ifconfig(8) has no word for IFF_ALLMULTI, sbin/ifconfig/ifconfig.c basic_cmds;
 * `txQLen`; other sysctls) is ignored with a warning in the log, never an error.
 *
 * DEL restores what ADD changed: ADD writes the old values to a file of its own before it
 * changes anything (`dataDir`, default /var/run/jailnet/tuning, which a reboot clears along
 * with the jails), DEL puts them back while the jail lives and removes the file. A file of its
 * own rather than jailnetd's records: tuning needs no daemon (as the reference), and what it
 * changed dies with the jail.
 */

/** Linux name -> FreeBSD per-vnet name, where the meaning is the same. */
export const LINUX_SYSCTLS: Record<string, string> = {
  'net.ipv4.ip_forward': 'net.inet.ip.forwarding',
  'net.ipv4.conf.all.forwarding': 'net.inet.ip.forwarding',
  'net.ipv6.conf.all.forwarding': 'net.inet6.ip6.forwarding',
  'net.ipv4.ip_default_ttl': 'net.inet.ip.ttl',
  'net.ipv6.conf.all.hop_limit': 'net.inet6.ip6.hlim',
  'net.ipv4.tcp_syncookies': 'net.inet.tcp.syncookies',
};

const PER_VNET = /^net\.inet6?\.[a-z0-9_.]+$/;

export interface TuningConf extends NetConf {
  sysctl?: Record<string, string>;
  mac?: string;
  mtu?: number;
  promisc?: boolean;
  allmulti?: boolean;
  txQLen?: number;
  dataDir?: string;
  runtimeConfig?: { mac?: string };
  /** Derived: the FreeBSD sysctls to set, name -> value. */
  sysctls: Record<string, string>;
}

export function loadTuningConfig(raw: Record<string, unknown>): TuningConf {
  const conf = validateWith<TuningConf>(validateTuningConfig, raw, 'network configuration');
  networkName(conf.name);
  const sysctls: Record<string, string> = {};
  for (const [name, value] of Object.entries(conf.sysctl ?? {})) {
    const freebsd = LINUX_SYSCTLS[name] ?? name;
    if (!PER_VNET.test(freebsd)) {
      log.warn(`tuning: sysctl ${name} ignored: not a per-vnet FreeBSD sysctl (net.inet.*, net.inet6.*) and no Linux name jailnet maps`, { network: conf.name });
      continue;
    }
    if (!/^-?\d{1,12}$/.test(value)) throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "sysctl.${name}": ${JSON.stringify(value)} is not an integer`, 'per-vnet sysctls take integers');
    sysctls[freebsd] = value;
  }
  const mac = conf.runtimeConfig?.mac ?? conf.mac;
  if (mac !== undefined) {
    try {
      macAddress(mac);
    } catch (err) {
      throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "mac": ${(err as Error).message}`);
    }
  }
  if (conf.mtu !== undefined && (conf.mtu < 72 || conf.mtu > 65535)) throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "mtu": ${conf.mtu} is out of range`, 'an MTU between 72 and 65535');
  if (conf.allmulti !== undefined) log.warn('tuning: field "allmulti" ignored: FreeBSD\'s ifconfig cannot set IFF_ALLMULTI', { network: conf.name });
  if (conf.txQLen !== undefined) log.warn('tuning: field "txQLen" ignored: no FreeBSD equivalent', { network: conf.name });
  return { ...conf, ...(mac !== undefined ? { mac } : {}), sysctls };
}

/** What ADD changed, with the values to put back. */
interface Saved {
  network: string;
  containerID: string;
  ifname: string;
  jail: string;
  mtu?: number;
  mac?: string;
  promisc?: boolean;
  sysctls: Record<string, string>;
}

type Ctx = CmdContext<TuningConf>;

/** Where ADD keeps the old values: `dataDir` (a directory only root can use, docs/security.md) or the run directory's. */
function stateDir(conf: TuningConf): string {
  if (conf.dataDir === undefined) return join(runDir(), 'tuning');
  requireTrustedField(conf.dataDir, 'state-dir', 'dataDir');
  return conf.dataDir;
}
const stateFile = (ctx: Ctx) => join(stateDir(ctx.config), `${sha256Hex(`${ctx.config.name}\0${ctx.containerId}\0${ctx.ifname}`).slice(0, 32)}.json`);
const promiscOf = (info: InterfaceInfo) => info.flags.includes('PPROMISC');

function readSaved(file: string): Saved | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Saved;
  } catch {
    return undefined;
  }
}

async function jailEnd(jail: string, ifname: string): Promise<InterfaceInfo> {
  const info = await showInterface(ifname, { jail });
  if (!info) throw new CniError(CniCode.InvalidNetworkConfig, `jail ${jail} has no interface ${ifname} to tune`, 'chain tuning after the plugin that creates the interface (bridge, epair)');
  return info;
}

/** Sets interface values and sysctls (to `want`); used for ADD and, with the saved values, DEL. */
async function apply(jail: string, ifname: string, want: { mtu?: number; mac?: string; promisc?: boolean; sysctls: Record<string, string> }): Promise<void> {
  const words: IfWord[] = [];
  if (want.mtu !== undefined) words.push(ifw.mtu(want.mtu));
  if (want.promisc !== undefined) words.push(want.promisc ? ifw.promisc() : ['-promisc']);
  if (words.length) await configureInterface(ifname, words, { jail });
  if (want.mac !== undefined) await configureInterface(ifname, [ifw.ether(want.mac)], { jail });
  for (const [name, value] of Object.entries(want.sysctls)) await setSysctl(name, value, jail);
}

async function add(ctx: Ctx): Promise<Result> {
  const conf = ctx.config;
  const jail = jailFromNetns(ctx.netns);
  const ifname = jailIfname(ctx.ifname);
  const info = await jailEnd(jail, ifname);
  const saved: Saved = { network: conf.name, containerID: ctx.containerId, ifname, jail, sysctls: {} };
  const want: Parameters<typeof apply>[2] = { sysctls: {} };
  if (conf.mtu !== undefined && conf.mtu !== info.mtu) [want.mtu, saved.mtu] = [conf.mtu, info.mtu];
  if (conf.mac !== undefined && conf.mac.toLowerCase() !== info.ether?.toLowerCase()) [want.mac, saved.mac] = [conf.mac, info.ether];
  if (conf.promisc !== undefined && conf.promisc !== promiscOf(info)) [want.promisc, saved.promisc] = [conf.promisc, promiscOf(info)];
  for (const [name, value] of Object.entries(conf.sysctls)) {
    let old: string;
    try {
      old = await getSysctl(name, jail);
    } catch (err) {
      throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "sysctl": ${name} cannot be read in jail ${jail}: ${(err as Error).message}`, 'name a sysctl this FreeBSD has per vnet (sysctl -d NAME)');
    }
    if (old !== value) [want.sysctls[name], saved.sysctls[name]] = [value, old];
  }
  // The old values on disk before anything changes: a DEL after a crash still finds them.
  const file = stateFile(ctx);
  const previous = readSaved(file);
  const record: Saved = previous ? { ...saved, ...pick(previous, saved), sysctls: { ...saved.sysctls, ...previous.sysctls } } : saved;
  mkdirSync(stateDir(conf), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  try {
    await apply(jail, ifname, want);
  } catch (err) {
    await apply(jail, ifname, { ...restoreOf(saved) }).catch((e: unknown) => log.warn(`tuning: undoing a failed ADD: ${(e as Error).message}`));
    if (previous) writeFileSync(file, JSON.stringify(previous), { mode: 0o600 });
    else rmSync(file, { force: true });
    throw err;
  }
  const result: Result = ctx.prevResult ? { ...ctx.prevResult, cniVersion: ctx.cniVersion } : { cniVersion: ctx.cniVersion };
  if (want.mac && result.interfaces) result.interfaces = result.interfaces.map((i) => (i.name === ifname && i.sandbox ? { ...i, mac: want.mac as string } : i));
  return result;
}

/** An earlier ADD's old values win (they are the ones from before jailnet changed anything). */
function pick(previous: Saved, now: Saved): Partial<Saved> {
  const out: Partial<Saved> = {};
  if (previous.mtu !== undefined || now.mtu !== undefined) out.mtu = previous.mtu ?? now.mtu;
  if (previous.mac !== undefined || now.mac !== undefined) out.mac = previous.mac ?? now.mac;
  if (previous.promisc !== undefined || now.promisc !== undefined) out.promisc = previous.promisc ?? now.promisc;
  return out;
}

function restoreOf(s: Saved): Parameters<typeof apply>[2] {
  const out: Parameters<typeof apply>[2] = { sysctls: { ...s.sysctls } };
  if (s.mtu !== undefined) out.mtu = s.mtu;
  if (s.mac !== undefined) out.mac = s.mac;
  if (s.promisc !== undefined) out.promisc = s.promisc;
  return out;
}

async function del(ctx: Ctx): Promise<void> {
  const file = stateFile(ctx);
  const saved = readSaved(file);
  if (!saved) return;
  try {
    if (await showInterface(saved.ifname, { jail: saved.jail })) await apply(saved.jail, saved.ifname, restoreOf(saved));
  } catch (err) {
    // The jail is gone, and what was changed with it.
    if (!isJailNotFound(err)) throw err;
  }
  rmSync(file, { force: true });
}

async function check(ctx: Ctx): Promise<void> {
  const conf = ctx.config;
  const jail = jailFromNetns(ctx.netns);
  const info = await jailEnd(jail, jailIfname(ctx.ifname));
  const wrong: string[] = [];
  if (conf.mtu !== undefined && info.mtu !== conf.mtu) wrong.push(`mtu is ${info.mtu}, not ${conf.mtu}`);
  if (conf.mac !== undefined && info.ether?.toLowerCase() !== conf.mac.toLowerCase()) wrong.push(`ether is ${info.ether}, not ${conf.mac}`);
  if (conf.promisc !== undefined && promiscOf(info) !== conf.promisc) wrong.push(`promisc is ${promiscOf(info) ? 'on' : 'off'}`);
  for (const [name, value] of Object.entries(conf.sysctls)) {
    const now = await getSysctl(name, jail);
    if (now !== value) wrong.push(`${name} is ${now}, not ${value}`);
  }
  if (wrong.length) throw new CniError(CniCode.CheckFailed, `tuning of ${ctx.ifname} in jail ${jail}: ${wrong.join('; ')}`, 'DEL and ADD the attachment again');
}

/** GC: the saved values of attachments that are not valid any more are forgotten (their jails are gone or will be). */
async function gc(ctx: CmdContext<TuningConf> & { validAttachments: { containerID: string; ifname: string }[] }): Promise<void> {
  const dir = stateDir(ctx.config);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return;
  }
  for (const f of files) {
    const s = readSaved(join(dir, f));
    if (!s || s.network !== ctx.config.name) continue;
    if (!ctx.validAttachments.some((a) => a.containerID === s.containerID && a.ifname === s.ifname)) rmSync(join(dir, f), { force: true });
  }
}

export const handlers: PluginHandlers<TuningConf> = { parseConfig: loadTuningConfig, add, del, check, gc };
