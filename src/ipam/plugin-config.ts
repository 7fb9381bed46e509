import { argsIps, type CniArgs } from '../cni/args';
import { CniCode, CniError } from '../cni/errors';
import type { Dns, NetConf, Route } from '../cni/types';
import validateIpamConfig from '../config/generated/ipam-config';
import validateIpamSection from '../config/generated/ipam-section';
import { validateWith } from '../config/validate';
import { jailnetdSettings, type JailnetdSection, type JailnetdSettings } from './connection';
import type { ClusterConfig } from '../cluster/config';
import { IpamError } from './errors';
import { checkUsableRanges, type RangeConfig } from './range';

/**
 * The configuration of jailnet-ipam and host-local (one plugin under two names): host-local's
 * `ipam` fields plus where jailnetd listens and how to start it. The shape is checked here (code 7 naming the field); the
 * ranges themselves are checked by the daemon, which names the field as well.
 */

export { DEFAULT_SOCKET } from './connection';

/** IPAM types jailnetd serves: its own, and host-local as a drop-in (the same code; docs/plugins.md). */
export const IPAM_TYPES_OF_JAILNETD: readonly string[] = ['jailnet-ipam', 'host-local'];

/** Whether a network's addresses come from jailnetd. */
export function ipamOfJailnetd(conf: { ipam?: { type?: string } }): boolean {
  return IPAM_TYPES_OF_JAILNETD.includes(conf.ipam?.type ?? '');
}

type RawIpam = JailnetdSection & {
  type: string;
  ranges?: RangeConfig[][];
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  routes?: Route[];
  resolvConf?: string;
  dataDir?: string;
  dns?: Dns;
  daemon?: { path?: string; config?: string; stateDir?: string; logFile?: string };
  timeout?: number;
  cluster?: ClusterConfig;
};

/** The configuration as decoded, with what the plugin made of it in `settings`. */
export interface IpamPluginConfig extends NetConf {
  ipam: RawIpam;
  settings: IpamSettings;
}

export interface IpamSettings extends JailnetdSettings {
  network: string;
  /** Static requests from args.cni.ips and runtimeConfig.ips (CNI_ARGS IP= is added per call). */
  configuredIps: string[];
  ranges: RangeConfig[][];
  routes: Route[];
  dns?: Dns;
  /** host-local's resolv.conf(5) for the result's dns, read at ADD. */
  resolvConf?: string;
  /** A network across hosts: addresses from this host's blocks (docs/cluster.md). */
  cluster?: ClusterConfig;
}

export function parseIpamConfig(rawDoc: Record<string, unknown>): IpamPluginConfig {
  const raw = validateWith<NetConf & { ipam: RawIpam; runtimeConfig?: { ips?: string[] } }>(validateIpamConfig, rawDoc, 'network configuration');
  return { ...raw, settings: ipamSettings(raw.name, raw.ipam, [...(raw.args?.cni?.ips ?? []), ...(raw.runtimeConfig?.ips ?? [])]) };
}

/**
 * The configuration of another plugin whose `ipam` section names jailnet-ipam (`bridge`,
 * `epair`, which run its commands in process): the section is checked on its own, the rest
 * already was, by that plugin's schema.
 */
export function ipamConfigOf(conf: NetConf & { runtimeConfig?: { ips?: string[] } & Record<string, unknown> }): IpamPluginConfig {
  const { ipam } = validateWith<{ ipam: RawIpam }>(validateIpamSection, { ipam: conf.ipam }, 'network configuration');
  return { ...conf, ipam, settings: ipamSettings(conf.name, ipam, [...(conf.args?.cni?.ips ?? []), ...(conf.runtimeConfig?.ips ?? [])]) };
}

/** What the plugin makes of a checked `ipam` section. */
function ipamSettings(network: string, ipam: RawIpam, configuredIps: string[]): IpamSettings {
  let ranges = ipam.ranges;
  if (!ranges) {
    if (!ipam.subnet) {
      throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration: field "ipam.ranges" is required', 'e.g. "ranges": [[{"subnet": "10.88.0.0/16"}]] (one inner list per address family for dual stack)');
    }
    // host-local's older single-range form.
    const r: RangeConfig = { subnet: ipam.subnet };
    if (ipam.rangeStart) r.rangeStart = ipam.rangeStart;
    if (ipam.rangeEnd) r.rangeEnd = ipam.rangeEnd;
    if (ipam.gateway) r.gateway = ipam.gateway;
    ranges = [[r]];
  } else if (ipam.subnet) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration: fields "ipam.ranges" and "ipam.subnet" are both set', 'use "ranges" only ("subnet" is host-local\'s older form of a single range)');
  }
  const settings: IpamSettings = { network, configuredIps, ranges, routes: ipam.routes ?? [], ...jailnetdSettings(ipam) };
  if (ipam.dns) settings.dns = ipam.dns;
  if (ipam.resolvConf) settings.resolvConf = ipam.resolvConf;
  if (ipam.cluster) settings.cluster = ipam.cluster;
  return settings;
}

/** Static requests, as host-local gathers them: CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips. */
export function requestedIps(settings: IpamSettings, args: CniArgs): string[] {
  return [...argsIps(args), ...settings.configuredIps];
}

/**
 * Refuses ranges no new attachment may use (checkUsableRanges in range.ts: special-purpose
 * subnets, a gateway outside its subnet) before anything asks jailnetd, with the daemon's wording.
 * ADD and `jailnet network create`/validate call it; DEL, CHECK and GC do not.
 */
export function requireUsableRanges(settings: Pick<IpamSettings, 'ranges'>): void {
  try {
    checkUsableRanges(settings.ranges);
  } catch (err) {
    if (!(err instanceof IpamError) || err.reason !== 'invalid-config') throw err;
    const message = err.field ? `network configuration: field "ipam.${err.field}": ${err.message.replace(`${err.field}: `, '')}` : `network configuration: ${err.message}`;
    throw new CniError(CniCode.InvalidNetworkConfig, message, err.details);
  }
}
