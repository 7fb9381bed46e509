import type { Route } from '../cni/types';
import { configureInterface, ifw, showInterface, type IfWord } from '../freebsd/ifconfig';
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

/**
 * A new vnet jail's lo0 is down and has no address; this brings it up with 127.0.0.1. Setting
 * the address again on a lo0 that has it is not harmless on FreeBSD: in_aifaddr_ioctl
 * (sys/netinet/in.c) deletes the address and adds it back, so the jail's programs briefly lose
 * 127.0.0.1. So lo0 is read first (`ifconfig -j JAIL lo0`, read-only) and left alone when it is
 * up with 127.0.0.1, as after the jail's first attachment; and not even read when an earlier ADD
 * of the same jail recorded that it is (src/link/known.ts). This is the one place that decides
 * about lo0. No undo: ADD runs it as its last step, so a failed ADD never leaves lo0 changed,
 * and DEL leaves it up (docs/plugins.md, "lo0").
 */
export async function configureLoopback(jail: string, id: JailIdentity): Promise<void> {
  // An earlier ADD of this very jail (same JID) set lo0 up or saw it so (src/link/known.ts).
  if (known.loopbackReady(id)) return;
  const lo0 = await showInterface('lo0', { jail });
  if (!(lo0?.flags.includes('UP') && lo0.inet.some((a) => a.address === '127.0.0.1'))) await configureInterface('lo0', [ifw.inet('127.0.0.1/8'), ifw.up()], { jail });
  known.setLoopbackReady(id);
}

/**
 * Adds the routes inside the jail; a route without a gateway goes through `gateways` or the
 * interface. The jail keeps one default route per family: on FreeBSD a second `route add
 * default` with another gateway does not fail but makes a multipath route (route_ctl.c, append
 * mode, net.route.multipath=1), so the jail is asked first (`route -j JAIL get default`) and a
 * default route it has (another network's) is kept. The first network that wants a default
 * route gives it. Returns the routes added, so that the result says what is true.
 */
export async function addJailRoutes(jail: string, ifname: string, routes: readonly Route[], gateways: Partial<Record<Family, string>>, id?: JailIdentity): Promise<Route[]> {
  const added: Route[] = [];
  for (const r of routes) {
    const family = familyOf(r.dst);
    const gateway = r.gw ?? gateways[family];
    const isDefault = isDefaultRoute(r.dst);
    // A default route another attachment of this jail gave it is known without asking (known.ts).
    if (isDefault && ((id && known.defaultRouteOwner(id, family) !== undefined) || (await getRoute('default', family, { jail })))) {
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
