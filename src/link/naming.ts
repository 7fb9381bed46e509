import { sha256Hex } from '../util/digest';

/**
 * Names and addresses derived from an attachment (container ID + ifname), so that DEL, CHECK
 * and GC find the host end of an epair without any saved state.
 */

/** Prefix of every host-side epair end jailnet creates. */
export const HOST_END_PREFIX = 'jn';
/** Interface group of the host ends (`ifconfig -g jailnet_host`); bridges get `jailnet`. */
export const HOST_END_GROUP = 'jailnet_host';
export const BRIDGE_GROUP = 'jailnet';
/** The bridge plugin's bridge when the configuration names none. */
export const DEFAULT_BRIDGE = 'jailnet0';

function digest(containerId: string, ifname: string): Buffer {
  return Buffer.from(sha256Hex(`${containerId}\0${ifname}`), 'hex');
}

/** "jn" + 13 hex digits: 15 characters, the most an interface name may have. */
export function hostEndName(containerId: string, ifname: string): string {
  return HOST_END_PREFIX + digest(containerId, ifname).toString('hex').slice(0, 13);
}

/**
 * Locally administered unicast MACs for both ends: the jail end 02:xx:xx:xx:xx:xx and the host end
 * 06:xx:xx:xx:xx:xx (same 40 hash bits), so the result can name them without asking ifconfig.
 */
export function attachmentMacs(containerId: string, ifname: string): { jail: string; host: string } {
  const d = digest(containerId, ifname);
  const tail = Array.from(d.subarray(13, 18), (b) => b.toString(16).padStart(2, '0')).join(':');
  return { jail: `02:${tail}`, host: `06:${tail}` };
}

/** The epair units an attachment asks for, in order (see createEpairLink): above the low units `ifconfig epair create` hands out, below IF_MAXUNIT (0x7fff). */
export const EPAIR_UNIT_MIN = 1024;
const EPAIR_UNITS = 0x8000 - EPAIR_UNIT_MIN;

export function epairUnits(containerId: string, ifname: string): number[] {
  const d = digest(containerId, ifname);
  return [18, 22, 26].map((at) => EPAIR_UNIT_MIN + (d.readUInt32BE(at) % EPAIR_UNITS));
}

export interface HostEndDescription {
  network: string;
  jail: string;
  ifname: string;
  /** The jail's addresses, so that DEL without prevResult can still undo NAT membership. */
  ips: string[];
}

/** `jailnet net=NET jail=JAIL if=IF ip=A,B` (what an admin sees in `ifconfig`). */
export function describeHostEnd(d: HostEndDescription): string {
  const jail = d.jail.length > 80 ? `${d.jail.slice(0, 77)}...` : d.jail;
  return `jailnet net=${d.network} jail=${jail || '-'} if=${d.ifname}${d.ips.length ? ` ip=${d.ips.join(',')}` : ''}`;
}

export function parseHostEndDescription(text: string | undefined): HostEndDescription | undefined {
  if (!text?.startsWith('jailnet ')) return undefined;
  const fields = new Map(text.slice(8).split(' ').map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as const));
  const network = fields.get('net');
  const ifname = fields.get('if');
  if (!network || !ifname) return undefined;
  const ip = fields.get('ip');
  return { network, jail: fields.get('jail') ?? '', ifname, ips: ip ? ip.split(',') : [] };
}
