import type { ExecResult } from './exec';
import { isNoSuchInterface } from './errors';
import { runInJail } from './jail-exec';
import { groupName, interfaceName, jailName } from './names';
import { parseCreatedName, parseGroupMembers, parseIfconfig, parseInterfaceList, type InterfaceInfo } from './parse/ifconfig';
import { runTool } from './tools';
import { cidr, descriptionText, ipv4Address, ipv6Address, macAddress, mtuValue } from './values';

/**
 * ifconfig(8) operations. Words are built by `ifw` from validated values, so a caller can put
 * several settings in one call (one process instead of several) without ever building a
 * word from unchecked input.
 *
 * ifconfig's grammar: `ifconfig IF [family] [address] [words...]`. The address family (inet,
 * inet6, ether/link) is read only right after the interface name, one address request per call
 * is applied (after the other words, so to the interface's new name after `name`), and family
 * words such as `-ifdisabled` belong to that family. `ifw` therefore returns address requests
 * separately, and `configureInterface` puts the family and the request first.
 */

export type Words = readonly string[];

/**
 * An address-family part of a call: `inet 10.0.0.1/24`, `inet6 -ifdisabled fd00::1/64 alias`,
 * `ether 02:00:00:00:00:01` (the link address is a family too: af_link.c).
 */
export interface AddressRequest {
  family: 'inet' | 'inet6' | 'ether';
  words: Words;
  /** Whether the words hold an address (at most one per call). */
  address: boolean;
}

export type IfWord = Words | AddressRequest;

/** Where a command runs: on the host, or inside a jail (`-j JAIL` / jexec). */
export interface Where {
  jail?: string;
}

const inetReq = (words: Words, address = true): AddressRequest => ({ family: 'inet', words, address });
const inet6Req = (words: Words, address = true): AddressRequest => ({ family: 'inet6', words, address });

export const ifw = {
  name: (n: string): Words => ['name', interfaceName(n)],
  up: (): Words => ['up'],
  down: (): Words => ['down'],
  mtu: (mtu: number): Words => ['mtu', mtuValue(mtu)],
  /** Sets the link address; a family of its own, so not in the same call as inet/inet6. */
  ether: (mac: string): AddressRequest => ({ family: 'ether', words: [macAddress(mac)], address: true }),
  description: (text: string): Words => ['description', descriptionText(text)],
  group: (g: string): Words => ['group', groupName(g)],
  /** Replaces the first IPv4 address. */
  inet: (c: string): AddressRequest => inetReq([ipv4Cidr(c)]),
  /** Adds an IPv4 address. */
  inetAlias: (c: string): AddressRequest => inetReq([ipv4Cidr(c), 'alias']),
  /** Adds an IPv6 address (always with `alias`, freebsd.md). */
  inet6: (c: string): AddressRequest => inet6Req([ipv6Cidr(c), 'alias']),
  /** Removes an IPv4 address. */
  inetDelete: (address: string): AddressRequest => inetReq([ipv4Address(address), '-alias']),
  /** Removes an IPv6 address. */
  inet6Delete: (address: string): AddressRequest => inet6Req([ipv6Address(address), '-alias']),
  /** Turns IPv6 on (link-local included) on an interface created with it disabled. */
  inet6Enable: (): AddressRequest => inet6Req(['-ifdisabled'], false),
  /** Turns IPv6 off again (`inet6 ifdisabled`). */
  inet6Disable: (): AddressRequest => inet6Req(['ifdisabled'], false),
  addm: (member: string): Words => ['addm', interfaceName(member)],
  deletem: (member: string): Words => ['deletem', interfaceName(member)],
  /** Bridge member options (if_bridge(4)). */
  private: (member: string): Words => ['private', interfaceName(member)],
  promisc: (): Words => ['promisc'],
  noChecksumOffload: (): Words => ['-txcsum', '-txcsum6'],
};

function isAddressRequest(w: IfWord): w is AddressRequest {
  return !Array.isArray(w);
}

/** The argv after `ifconfig`: interface, family and address request first, then the other words. */
export function ifconfigArgs(ifname: string, words: readonly IfWord[]): string[] {
  const requests = words.filter(isAddressRequest);
  const plain = words.filter((w): w is Words => !isAddressRequest(w));
  const family = requests[0]?.family;
  if (requests.some((r) => r.family !== family)) throw new Error('one ifconfig call takes one address family');
  if (requests.filter((r) => r.address).length > 1) throw new Error('one ifconfig call applies one address request');
  return [interfaceName(ifname), ...(family ? [family] : []), ...requests.flatMap((r) => r.words), ...plain.flat()];
}

function ipv4Cidr(c: string): string {
  if (c.includes(':')) throw new Error(`"${c}" is an IPv6 CIDR where an IPv4 one is needed`);
  return cidr(c);
}

function ipv6Cidr(c: string): string {
  if (!c.includes(':')) throw new Error(`"${c}" is an IPv4 CIDR where an IPv6 one is needed`);
  return cidr(c);
}

function ifconfig(args: readonly string[], where: Where = {}): Promise<ExecResult> {
  return where.jail === undefined ? runTool('ifconfig', args) : runInJail('ifconfig', where.jail, args);
}

/** `ifconfig IF words...` (host or jail); returns stdout (the new name after `name`). */
export async function configureInterface(ifname: string, words: readonly IfWord[], where: Where = {}): Promise<string> {
  const r = await ifconfig(ifconfigArgs(ifname, words), where);
  return r.stdout;
}

/** `ifconfig epair create`: the two ends, "epairNa" (printed) and "epairNb". */
export async function createEpair(): Promise<{ a: string; b: string }> {
  const r = await runTool('ifconfig', ['epair', 'create']);
  const a = parseCreatedName(r.stdout);
  if (!/^epair\d+a$/.test(a)) throw new Error(`ifconfig epair create printed "${a}", not an epairNa name`);
  return { a, b: `${a.slice(0, -1)}b` };
}

/**
 * `ifconfig epairN create [family address] words...`: the epair with unit N, its a end set up by
 * the same call. ifconfig creates the interface at the first word after `create` and applies the
 * rest to it, an address family right after `create` included (sbin/ifconfig/ifconfig.c,
 * ifconfig(): "Push the clone create callback so the new device is created and can be used for
 * any remaining arguments"). With `name` among the words it prints nothing (the a end's unit
 * name is never seen): that is why the caller chooses the unit. Returns the two ends' names.
 */
export async function createEpairUnit(unit: number, words: readonly IfWord[]): Promise<{ a: string; b: string }> {
  if (!Number.isInteger(unit) || unit < 0 || unit > 0x7fff) throw new Error(`epair unit ${unit} is out of range`);
  const [ifname, ...rest] = ifconfigArgs(`epair${unit}`, words);
  await runTool('ifconfig', [ifname as string, 'create', ...rest]);
  return { a: `epair${unit}a`, b: `epair${unit}b` };
}

/** `ifconfig bridge create`: the new bridge's name ("bridgeN"). */
export async function createBridge(): Promise<string> {
  const r = await runTool('ifconfig', ['bridge', 'create']);
  return parseCreatedName(r.stdout);
}

/** What a vxlan(4) interface is made with (sbin/ifconfig/ifvxlan.c's create parameters). */
export interface VxlanSpec {
  vni: number;
  local: string;
  remote: string;
  localPort: number;
  remotePort: number;
}

/**
 * `ifconfig vxlan create vxlanid N vxlanlocal A vxlanremote B vxlanlocalport P vxlanremoteport Q`:
 * the new interface's name ("vxlanN"). Unicast: one remote (if_vxlan.c sends every frame
 * whose destination it has not learnt to it).
 */
export async function createVxlan(spec: VxlanSpec): Promise<string> {
  const port = (p: number) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`vxlan port ${p} is not 1-65535`);
    return String(p);
  };
  if (!Number.isInteger(spec.vni) || spec.vni < 0 || spec.vni > 16777215) throw new Error(`vxlan id ${spec.vni} is not 0-16777215`);
  const r = await runTool('ifconfig', ['vxlan', 'create', 'vxlanid', String(spec.vni), 'vxlanlocal', ipv4Address(spec.local), 'vxlanremote', ipv4Address(spec.remote), 'vxlanlocalport', port(spec.localPort), 'vxlanremoteport', port(spec.remotePort)]);
  const name = parseCreatedName(r.stdout);
  if (!/^vxlan\d+$/.test(name)) throw new Error(`ifconfig vxlan create printed "${name}", not a vxlanN name`);
  return name;
}

/** `ifconfig IF destroy`. False when the interface was already gone. */
export async function destroyInterface(ifname: string, where: Where = {}): Promise<boolean> {
  try {
    await ifconfig([interfaceName(ifname), 'destroy'], where);
    return true;
  } catch (err) {
    if (isNoSuchInterface(err)) return false;
    throw err;
  }
}

/** `ifconfig IF vnet JAIL`: moves IF from the host into a vnet jail. */
export async function moveToJail(ifname: string, jail: string): Promise<void> {
  await runTool('ifconfig', [interfaceName(ifname), 'vnet', jailName(jail)]);
}

/** `ifconfig IF -vnet JAIL`, run on the host: takes IF back from the jail. */
export async function reclaimFromJail(ifname: string, jail: string): Promise<void> {
  await runTool('ifconfig', [interfaceName(ifname), '-vnet', jailName(jail)]);
}

/** `ifconfig IF`: its state, or undefined when it does not exist. */
export async function showInterface(ifname: string, where: Where = {}): Promise<InterfaceInfo | undefined> {
  try {
    const r = await ifconfig([interfaceName(ifname)], where);
    return parseIfconfig(r.stdout)[0];
  } catch (err) {
    if (isNoSuchInterface(err)) return undefined;
    throw err;
  }
}

/** `ifconfig` with no arguments: every interface in one call. */
export async function listInterfaces(where: Where = {}): Promise<InterfaceInfo[]> {
  const r = await ifconfig([], where);
  return parseIfconfig(r.stdout);
}

/** `ifconfig -l`: the names only. */
export async function listInterfaceNames(where: Where = {}): Promise<string[]> {
  const r = await ifconfig(['-l'], where);
  return parseInterfaceList(r.stdout);
}

/** `ifconfig -g GROUP`: member names; empty for an unknown group. */
export async function listGroupMembers(group: string): Promise<string[]> {
  const r = await runTool('ifconfig', ['-g', groupName(group)]);
  return parseGroupMembers(r.stdout);
}
