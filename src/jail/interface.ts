import { CniCode, CniError } from '../cni/errors';
import type { Route } from '../cni/types';
import { configureInterface, ifw, showInterface, type IfWord } from '../freebsd/ifconfig';
import type { InterfaceInfo } from '../freebsd/parse/ifconfig';
import { addRoute, getRoute } from '../freebsd/route';
import { familyOf, isDefaultRoute, type Family } from '../net/cidr';
import { log } from '../log/logger';
import { known, type JailIdentity } from '../link/known';

/**
 * The jail side of an attachment, set up from the host with `ifconfig -j` / `route -j`
 * (jexec on releases without -j). ifconfig takes one address family and one address per call,
 * and the MAC is the link family's address: one call renames the interface, sets its MAC and
 * brings it up, then each IP address is a call of its own.
 */

export interface JailEndSpec {
  jail: string;
  /** The interface's name when it arrived in the jail (epairNb). */
  arrivedAs: string;
  ifname: string;
  mac: string;
  mtu?: number;
  /** CIDRs, both families. */
  addresses: string[];
}

export async function configureJailEnd(spec: JailEndSpec): Promise<void> {
  const v4 = spec.addresses.filter((a) => familyOf(a) === 4);
  const v6 = spec.addresses.filter((a) => familyOf(a) === 6);
  const words: IfWord[] = [ifw.ether(spec.mac), ifw.name(spec.ifname)];
  if (spec.mtu !== undefined) words.push(ifw.mtu(spec.mtu));
  words.push(ifw.up());
  const where = { jail: spec.jail };
  await configureInterface(spec.arrivedAs, words, where);
  for (const [i, a] of v4.entries()) await configureInterface(spec.ifname, [i === 0 ? ifw.inet(a) : ifw.inetAlias(a)], where);
  for (const [i, a] of v6.entries()) await configureInterface(spec.ifname, i === 0 ? [ifw.inet6Enable(), ifw.inet6(a)] : [ifw.inet6(a)], where);
}

/** The loopback addresses of a jail's lo0. */
export const LOOPBACK = { v4: '127.0.0.1', v4Cidr: '127.0.0.1/8', v6: '::1', v6Cidr: '::1/128' } as const;

/** What lo0 lacks: "up", "127.0.0.1", and with `inet6` "::1". */
export function loopbackLacks(lo0: InterfaceInfo, inet6: boolean): string[] {
  const lacks: string[] = [];
  if (!lo0.flags.includes('UP')) lacks.push('up');
  if (!lo0.inet.some((a) => a.address === LOOPBACK.v4)) lacks.push(LOOPBACK.v4);
  if (inet6 && !lo0.inet6.some((a) => a.address === LOOPBACK.v6)) lacks.push(LOOPBACK.v6);
  return lacks;
}

/** lo0 as a new vnet gets it: if_loop's vnet_loif_init (sys/net/if_loop.c) creates it down, without addresses. */
const NEW_JAIL_LO0: Readonly<InterfaceInfo> = { name: 'lo0', flags: [], options: [], inet: [], inet6: [], groups: [], members: [], other: {} };

/** lo0 of a vnet jail (always there: if_loop attaches one per vnet). */
export async function jailLoopback(jail: string): Promise<InterfaceInfo> {
  const lo0 = await showInterface('lo0', { jail });
  if (!lo0) throw new CniError(CniCode.UnknownContainer, `jail ${jail} has no lo0`, 'CNI_NETNS must name a vnet jail (jail -c ... vnet)');
  return lo0;
}

/**
 * A new vnet jail's lo0 is down and has no address; this brings it up with 127.0.0.1 (and, for
 * the loopback plugin, makes sure of ::1). Setting the address again on a lo0 that has it is
 * not harmless on FreeBSD: in_aifaddr_ioctl (sys/netinet/in.c) deletes the address and adds it
 * back, so the jail's programs briefly lose 127.0.0.1. So lo0 is read first (`ifconfig -j JAIL
 * lo0`, read-only) and only what it lacks is set: a lo0 that is up with its addresses, as after
 * the jail's first attachment or the jail's rc, is left alone. 127.0.0.1 is added with `alias`
 * when lo0 has another IPv4 address: without it ifconfig deletes lo0's first address (clearaddr,
 * sbin/ifconfig/ifconfig.c). A loopback interface that comes up gets ::1 by itself
 * (in6_ifattach_loopback, sys/netinet6/in6_ifattach.c), so ::1 is looked for again after `up`.
 * An earlier ADD of the same jail (same JID) that left lo0 so is remembered (`id`,
 * src/link/known.ts): lo0 is then not even read. Nor is a new jail's (`newJail`, CNI_ARGS
 * JailnetNewJail, src/link/args.ts): it is down, without addresses. This is the one place that
 * decides about lo0. No undo: ADD runs it as its last step, so a failed ADD never leaves lo0
 * changed, and DEL leaves it up (docs/plugins.md, "lo0").
 * Returns what lo0 lacked.
 */
export async function configureLoopback(jail: string, opts: { inet6?: boolean; id?: JailIdentity; newJail?: boolean } = {}): Promise<string[]> {
  const inet6 = opts.inet6 ?? false;
  if (opts.id && !inet6 && known.loopbackReady(opts.id)) return [];
  // A new jail's lo0 is known without asking (JailnetNewJail, src/link/args.ts).
  const lo0 = opts.newJail ? NEW_JAIL_LO0 : await jailLoopback(jail);
  const lacks = loopbackLacks(lo0, inet6);
  if (lacks.length === 0) {
    if (opts.id && !inet6) known.setLoopbackReady(opts.id);
    return [];
  }
  const where = { jail };
  const wentUp = lacks.includes('up');
  if (lacks.includes(LOOPBACK.v4)) {
    const address = lo0.inet.length > 0 ? ifw.inetAlias(LOOPBACK.v4Cidr) : ifw.inet(LOOPBACK.v4Cidr);
    await configureInterface('lo0', [address, ifw.up()], where);
  } else if (wentUp) {
    await configureInterface('lo0', [ifw.up()], where);
  }
  if (inet6 && lacks.includes(LOOPBACK.v6) && (!wentUp || loopbackLacks(await jailLoopback(jail), true).includes(LOOPBACK.v6))) {
    await configureInterface('lo0', [ifw.inet6(LOOPBACK.v6Cidr)], where);
  }
  if (opts.id && !inet6) known.setLoopbackReady(opts.id);
  return lacks;
}

/**
 * Adds the routes inside the jail; a route without a gateway goes through `gateways` or the
 * interface. The jail keeps one default route per family: on FreeBSD a second `route add
 * default` with another gateway does not fail but makes a multipath route (route_ctl.c, append
 * mode, net.route.multipath=1), so the jail is asked first (`route -j JAIL get default`; a new
 * jail, JailnetNewJail, has no route) and a default route it has (another network's) is kept. The first network that wants a default
 * route gives it. Returns the routes added, so that the result says what is true.
 */
export async function addJailRoutes(jail: string, ifname: string, routes: readonly Route[], gateways: Partial<Record<Family, string>>, id?: JailIdentity, newJail = false): Promise<Route[]> {
  const added: Route[] = [];
  for (const r of routes) {
    const family = familyOf(r.dst);
    const gateway = r.gw ?? gateways[family];
    const isDefault = isDefaultRoute(r.dst);
    // A default route another attachment of this jail gave it is known without asking (known.ts);
    // a new jail has none (JailnetNewJail, src/link/args.ts).
    if (isDefault && ((id && known.defaultRouteOwner(id, family) !== undefined) || (!newJail && (await getRoute('default', family, { jail }))))) {
      log.info(`jail ${jail} already has a default route; kept it, added none through ${gateway ?? ifname}`, { jail, dst: r.dst });
      continue;
    }
    const spec = {
      dst: isDefault ? 'default' : r.dst,
      family,
      ...(gateway !== undefined ? { gateway } : { interface: ifname }),
    };
    if ((await addRoute(spec, { jail })) === 'exists') {
      log.info(`jail ${jail} already has a route to ${r.dst}; kept it`, { jail, dst: r.dst });
    } else {
      added.push(r);
    }
  }
  return added;
}

/**
 * Records the default routes this ADD gave the jail, once nothing can fail any more: later ADDs
 * of the jail need not ask for them (addJailRoutes), until this attachment's DEL (known.ts).
 */
export function rememberDefaultRoutes(id: JailIdentity, owner: string, added: readonly Route[]): void {
  for (const r of added) if (isDefaultRoute(r.dst)) known.setDefaultRouteOwner(id, familyOf(r.dst), owner);
}
