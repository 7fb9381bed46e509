import type { CniArgs } from '../cni/args';
import { CniCode, CniError } from '../cni/errors';
import type { NetConf } from '../cni/types';
import { interfaceName, networkName } from '../freebsd/names';
import { macAddress } from '../freebsd/values';
import { jailnetdSettings, type JailnetdSection, type JailnetdSettings } from '../ipam/connection';
import { ipamOfJailnetd } from '../ipam/plugin-config';

/**
 * What the bridge and epair plugins share in their configuration: MTU, the MAC request, NAT
 * (owned by jailnetd: where it listens is the `ipam` section's when that is jailnet-ipam, else
 * the plugin's own `socket`, `autostart`, `daemon`, `timeout`, as in portmap).
 */
export interface LinkConf extends NetConf, JailnetdSection {
  mtu?: number;
  ipMasq: boolean;
  egressInterface?: string;
  /** jailnet: false turns jailnetd's DNS server off for the network (docs/dns.md). */
  dnsServer?: boolean;
  runtimeConfig?: { mac?: string; ips?: string[]; aliases?: unknown } & Record<string, unknown>;
  args?: { cni?: { ips?: string[]; mac?: string } & Record<string, unknown> } & Record<string, unknown>;
}

/** Turns a validator's exception into code 7 naming the field. */
export function checkField<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "${field}": ${(err as Error).message}`);
  }
}

export function checkLinkConf(conf: LinkConf): void {
  networkName(conf.name);
  if (conf.egressInterface !== undefined) checkField('egressInterface', () => interfaceName(conf.egressInterface));
  if (conf.runtimeConfig?.mac !== undefined) checkField('runtimeConfig.mac', () => macAddress(conf.runtimeConfig?.mac));
  if (conf.args?.cni?.mac !== undefined) checkField('args.cni.mac', () => macAddress(conf.args?.cni?.mac));
}

/** How the plugin reaches jailnetd: its own fields when it has any, else jailnet-ipam's section. */
export function linkJailnetd(conf: LinkConf): JailnetdSettings {
  const own: JailnetdSection = {};
  if (conf.socket !== undefined) own.socket = conf.socket;
  if (conf.autostart !== undefined) own.autostart = conf.autostart;
  if (conf.daemon !== undefined) own.daemon = conf.daemon;
  if (conf.timeout !== undefined) own.timeout = conf.timeout;
  if (Object.keys(own).length > 0 || !ipamOfJailnetd(conf)) return jailnetdSettings(own, '');
  return jailnetdSettings(conf.ipam as JailnetdSection);
}

/**
 * The jail end's requested MAC, as the reference bridge picks it: runtimeConfig.mac, then
 * args.cni.mac, then CNI_ARGS MAC=. Undefined when none is asked for.
 */
export function requestedMac(conf: LinkConf, args: CniArgs): string | undefined {
  const fromArgs = args.get('MAC');
  if (conf.runtimeConfig?.mac) return macAddress(conf.runtimeConfig.mac);
  if (conf.args?.cni?.mac) return macAddress(conf.args.cni.mac);
  if (fromArgs) {
    try {
      return macAddress(fromArgs);
    } catch (err) {
      throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS MAC: ${(err as Error).message}`);
    }
  }
  return undefined;
}
