import { CniCode, CniError } from '../cni/errors';
import type { CmdContext, PluginHandlers } from '../cni/skel';
import type { NetConf, Result } from '../cni/types';
import validateLoopbackConfig from '../config/generated/loopback-config';
import { validateWith } from '../config/validate';
import { configureInterface, ifw, showInterface } from '../freebsd/ifconfig';
import type { InterfaceInfo } from '../freebsd/parse/ifconfig';
import { networkName } from '../freebsd/names';
import { jailFromNetns } from '../jail/target';
import { log } from '../log/logger';

/**
 * The `loopback` plugin (containerd's CRI runs it for every pod): lo0 up in the jail with
 * 127.0.0.1/8 and ::1. A vnet jail's lo0 is its own and always there; a new jail's is down
 * with no address. ADD changes only what is missing, so lo0 configured by the jail's rc or by
 * another attachment (bridge brings it up too) is left as it is. DEL changes nothing: lo0 goes
 * with the jail, and other attachments and programs of the jail use it (the reference takes lo
 * down, which on FreeBSD would cut the jail's other networks' services off from themselves).
 */

export const V4 = { address: '127.0.0.1', cidr: '127.0.0.1/8' } as const;
export const V6 = { address: '::1', cidr: '::1/128' } as const;

const has = (info: InterfaceInfo, address: string) => info.inet.some((a) => a.address === address) || info.inet6.some((a) => a.address === address);

/** What lo0 lacks: "up", "127.0.0.1", "::1". */
export function missingOnLoopback(info: InterfaceInfo): string[] {
  const missing: string[] = [];
  if (!info.flags.includes('UP')) missing.push('up');
  if (!has(info, V4.address)) missing.push(V4.address);
  if (!has(info, V6.address)) missing.push(V6.address);
  return missing;
}

async function loopbackOf(jail: string): Promise<InterfaceInfo> {
  const info = await showInterface('lo0', { jail });
  if (!info) throw new CniError(CniCode.UnknownContainer, `jail ${jail} has no lo0`, 'CNI_NETNS must name a vnet jail (jail -c ... vnet)');
  return info;
}

/** Brings lo0 up with both loopback addresses, changing only what is missing. */
export async function ensureLoopback(jail: string): Promise<void> {
  let info = await loopbackOf(jail);
  let missing = missingOnLoopback(info);
  if (missing.length === 0) return;
  const where = { jail };
  if (missing.includes(V4.address)) await configureInterface('lo0', [ifw.inetAlias(V4.cidr), ifw.up()], where);
  else if (missing.includes('up')) await configureInterface('lo0', [ifw.up()], where);
  if (missing.includes(V6.address) && missing.includes('up')) {
    // A loopback that comes up gets ::1 by itself (sys/netinet6/in6_ifattach.c): look again.
    info = await loopbackOf(jail);
    missing = missingOnLoopback(info);
  }
  if (missing.includes(V6.address)) await configureInterface('lo0', [ifw.inet6(V6.cidr)], where);
  log.info(`lo0 of jail ${jail}: set ${missing.join(', ')}`, { jail });
}

function loopbackResult(ctx: CmdContext<NetConf>, jail: string): Result {
  // Chained after another plugin it passes that plugin's result through, as the reference does.
  if (ctx.prevResult) return { ...ctx.prevResult, cniVersion: ctx.cniVersion };
  return {
    cniVersion: ctx.cniVersion,
    interfaces: [{ name: 'lo0', mac: '00:00:00:00:00:00', sandbox: jail }],
    ips: [
      { address: V4.cidr, interface: 0 },
      { address: V6.cidr, interface: 0 },
    ],
  };
}

export const handlers: PluginHandlers<NetConf> = {
  parseConfig(raw) {
    const conf = validateWith<NetConf>(validateLoopbackConfig, raw, 'network configuration');
    networkName(conf.name);
    return conf;
  },
  async add(ctx) {
    const jail = jailFromNetns(ctx.netns);
    await ensureLoopback(jail);
    return loopbackResult(ctx, jail);
  },
  async del() {
    // Nothing: see above.
  },
  async check(ctx) {
    const jail = jailFromNetns(ctx.netns);
    const missing = missingOnLoopback(await loopbackOf(jail));
    if (missing.length > 0) throw new CniError(CniCode.CheckFailed, `lo0 of jail ${jail} is not ready: it lacks ${missing.join(', ')}`, 'ADD the attachment again (ifconfig -j JAIL lo0 inet 127.0.0.1/8 alias up)');
  },
};
