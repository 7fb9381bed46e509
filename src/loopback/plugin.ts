import { CniCode, CniError } from '../cni/errors';
import type { CmdContext, PluginHandlers } from '../cni/skel';
import type { NetConf, Result } from '../cni/types';
import validateLoopbackConfig from '../config/generated/loopback-config';
import { validateWith } from '../config/validate';
import { networkName } from '../freebsd/names';
import { configureLoopback, jailLoopback, LOOPBACK, loopbackLacks } from '../jail/interface';
import { jailFromNetns } from '../jail/target';
import { log } from '../log/logger';

/**
 * The `loopback` plugin (containerd's CRI runs it for every pod): lo0 up in the jail with
 * 127.0.0.1/8 and ::1. A vnet jail's lo0 is its own and always there; a new jail's is down
 * with no address. What to change is decided where the bridge and epair plugins decide it
 * (configureLoopback, src/jail/interface.ts): only what is missing, so lo0 configured by the
 * jail's rc or by another attachment is left as it is. DEL changes nothing: lo0 goes with the
 * jail, and other attachments and programs of the jail use it (the reference takes lo down,
 * which on FreeBSD would cut the jail's other networks' services off from themselves).
 */

function loopbackResult(ctx: CmdContext<NetConf>, jail: string): Result {
  // Chained after another plugin it passes that plugin's result through, as the reference does.
  if (ctx.prevResult) return { ...ctx.prevResult, cniVersion: ctx.cniVersion };
  return {
    cniVersion: ctx.cniVersion,
    interfaces: [{ name: 'lo0', mac: '00:00:00:00:00:00', sandbox: jail }],
    ips: [
      { address: LOOPBACK.v4Cidr, interface: 0 },
      { address: LOOPBACK.v6Cidr, interface: 0 },
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
    const set = await configureLoopback(jail, { inet6: true });
    if (set.length > 0) log.info(`lo0 of jail ${jail}: set ${set.join(', ')}`, { jail });
    return loopbackResult(ctx, jail);
  },
  async del() {
    // Nothing: see above.
  },
  async check(ctx) {
    const jail = jailFromNetns(ctx.netns);
    const lacks = loopbackLacks(await jailLoopback(jail), true);
    if (lacks.length > 0) throw new CniError(CniCode.CheckFailed, `lo0 of jail ${jail} is not ready: it lacks ${lacks.join(', ')}`, 'ADD the attachment again (ifconfig -j JAIL lo0 inet 127.0.0.1/8 alias up)');
  },
};
