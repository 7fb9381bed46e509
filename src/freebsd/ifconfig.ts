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
 */

export type Words = readonly string[];

/** Where a command runs: on the host, or inside a jail (`-j JAIL` / jexec). */
export interface Where {
  jail?: string;
}

export const ifw = {
  name: (n: string): Words => ['name', interfaceName(n)],
  up: (): Words => ['up'],
  down: (): Words => ['down'],
  mtu: (mtu: number): Words => ['mtu', mtuValue(mtu)],
  ether: (mac: string): Words => ['ether', macAddress(mac)],
  description: (text: string): Words => ['description', descriptionText(text)],
  group: (g: string): Words => ['group', groupName(g)],
  /** Replaces the first IPv4 address. */
  inet: (c: string): Words => ['inet', ipv4Cidr(c)],
  /** Adds an IPv4 address. */
  inetAlias: (c: string): Words => ['inet', ipv4Cidr(c), 'alias'],
  /** Adds an IPv6 address (always with `alias`, freebsd.md). */
  inet6: (c: string): Words => ['inet6', ipv6Cidr(c), 'alias'],
  /** Removes an IPv4 address. */
  inetDelete: (address: string): Words => ['inet', ipv4Address(address), '-alias'],
  /** Removes an IPv6 address. */
  inet6Delete: (address: string): Words => ['inet6', ipv6Address(address), '-alias'],
  /** Turns IPv6 on (link-local included) on an interface created with it disabled. */
  inet6Enable: (): Words => ['inet6', '-ifdisabled'],
  addm: (member: string): Words => ['addm', interfaceName(member)],
  deletem: (member: string): Words => ['deletem', interfaceName(member)],
  /** Bridge member options (if_bridge(4)). */
  private: (member: string): Words => ['private', interfaceName(member)],
  promisc: (): Words => ['promisc'],
  noChecksumOffload: (): Words => ['-txcsum', '-txcsum6'],
};

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
export async function configureInterface(ifname: string, words: readonly Words[], where: Where = {}): Promise<string> {
  const r = await ifconfig([interfaceName(ifname), ...words.flat()], where);
  return r.stdout;
}

/** `ifconfig epair create`: the two ends, "epairNa" (printed) and "epairNb". */
export async function createEpair(): Promise<{ a: string; b: string }> {
  const r = await runTool('ifconfig', ['epair', 'create']);
  const a = parseCreatedName(r.stdout);
  if (!/^epair\d+a$/.test(a)) throw new Error(`ifconfig epair create printed "${a}", not an epairNa name`);
  return { a, b: `${a.slice(0, -1)}b` };
}

/** `ifconfig bridge create [words]`: the new bridge's name ("bridgeN"). */
export async function createBridge(words: readonly Words[] = []): Promise<string> {
  const r = await runTool('ifconfig', ['bridge', 'create', ...words.flat()]);
  return parseCreatedName(r.stdout);
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
