import { CommandError } from './exec';
import { runInJail } from './jail-exec';
import { listRoutes } from './netstat';
import { interfaceName } from './names';
import { isRouteExists, isRouteMissing, parseRouteGet, type RouteGet } from './parse/route';
import { runTool } from './tools';
import { cidr, ipAddress } from './values';

/** route(8) operations, on the host or inside a jail (`route -j JAIL`, falling back to jexec). */

export interface RouteSpec {
  /** "default" or a CIDR. */
  dst: string;
  /** Next hop address, or... */
  gateway?: string;
  /** ...a directly attached interface (`-interface IF`). */
  interface?: string;
  family: 4 | 6;
}

export interface RouteWhere {
  jail?: string;
}

function route(args: readonly string[], where: RouteWhere) {
  return where.jail === undefined ? runTool('route', args) : runInJail('route', where.jail, args);
}

/** The argv after `route` for add/delete. */
export function routeArgs(verb: 'add' | 'delete', spec: RouteSpec): string[] {
  const args = ['-n', spec.family === 6 ? '-6' : '-4', verb];
  if (spec.dst === 'default') args.push('default');
  else {
    const c = cidr(spec.dst);
    const isHost = c.endsWith(spec.family === 6 ? '/128' : '/32');
    args.push(isHost ? '-host' : '-net', isHost ? (c.split('/')[0] as string) : c);
  }
  if (spec.gateway !== undefined) args.push(ipAddress(spec.gateway));
  else if (spec.interface !== undefined) args.push('-interface', interfaceName(spec.interface));
  else if (verb === 'add') throw new Error(`route to ${spec.dst} needs a gateway or an interface`);
  return args;
}

/** Adds a route; 'exists' when that destination already has one. */
export async function addRoute(spec: RouteSpec, where: RouteWhere = {}): Promise<'added' | 'exists'> {
  try {
    await route(routeArgs('add', spec), where);
    return 'added';
  } catch (err) {
    if (err instanceof CommandError && isRouteExists(`${err.stdout}\n${err.stderr}`)) return 'exists';
    throw err;
  }
}

/** Deletes a route; false when there was none. */
export async function deleteRoute(spec: RouteSpec, where: RouteWhere = {}): Promise<boolean> {
  try {
    await route(routeArgs('delete', spec), where);
    return true;
  } catch (err) {
    if (err instanceof CommandError && isRouteMissing(`${err.stdout}\n${err.stderr}`)) return false;
    throw err;
  }
}

/**
 * `route -n get -inet|-inet6 DST`; undefined when no route matches. 13.x says so with a failure
 * (status 255, "route has not been found"); 14.x's netlink route warns the same but exits 0 and
 * prints no route (route_netlink.c rtmsg_nl_int), hence the check of the output.
 */
export async function getRoute(dst: string, family: 4 | 6, where: RouteWhere = {}): Promise<RouteGet | undefined> {
  const target = dst === 'default' ? 'default' : ipAddress(dst);
  try {
    const r = await route(['-n', 'get', family === 6 ? '-inet6' : '-inet', target], where);
    // 14.x's netlink route(8) reports a missing route on stderr and exits 0 (route_netlink.c).
    const got = parseRouteGet(r.stdout);
    return got.destination === undefined && got.interface === undefined ? undefined : got;
  } catch (err) {
    if (err instanceof CommandError && isRouteMissing(`${err.stdout}\n${err.stderr}`)) return undefined;
    throw err;
  }
}

/**
 * The interface of the host's default route (the usual NAT egress), if there is one. For a
 * multipath default route `route get` names no gateway and its `interface:` line is not the
 * route's (route_netlink.c asks for RTA_OIF, which a multipath answer lacks): the first path that
 * `netstat -rnW` lists is taken instead.
 */
export async function defaultRouteInterface(family: 4 | 6 = 4): Promise<string | undefined> {
  const got = await getRoute('default', family);
  if (got && !got.gateway && got.flags.includes('GATEWAY')) return (await listRoutes(family)).find((e) => e.destination === 'default')?.netif;
  return got?.interface;
}
