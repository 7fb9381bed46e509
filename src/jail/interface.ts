import type { Route } from '../cni/types';
import { configureInterface, ifw, type IfWord } from '../freebsd/ifconfig';
import { addRoute } from '../freebsd/route';
import { familyOf, isDefaultRoute, type Family } from '../net/cidr';
import { log } from '../log/logger';

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
 * A new vnet jail's lo0 is down and has no address; this brings it up with 127.0.0.1. It is
 * idempotent and has no undo: ADD runs it as its last step, so a failed ADD never leaves lo0
 * changed, and DEL leaves it up (the jail's other attachments and programs use it; it goes with
 * the jail). docs/plugins.md, "lo0".
 */
export async function configureLoopback(jail: string): Promise<void> {
  await configureInterface('lo0', [ifw.inet('127.0.0.1/8'), ifw.up()], { jail });
}

/**
 * Adds the routes inside the jail; a route without a gateway goes through `gateways` or the
 * interface. Returns the routes added: one the jail already has (a default route from another
 * network it is attached to) is kept as it is and left out, so the result says what is true.
 */
export async function addJailRoutes(jail: string, ifname: string, routes: readonly Route[], gateways: Partial<Record<Family, string>>): Promise<Route[]> {
  const added: Route[] = [];
  for (const r of routes) {
    const family = familyOf(r.dst);
    const gateway = r.gw ?? gateways[family];
    const spec = {
      dst: isDefaultRoute(r.dst) ? 'default' : r.dst,
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
