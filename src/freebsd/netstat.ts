import { runInJail } from './jail-exec';
import { parseNetstatRoutes, type RouteEntry } from './parse/netstat';
import { runTool } from './tools';

/** netstat(1) reads of the routing tables. */

export interface NetstatWhere {
  jail?: string;
}

/**
 * `netstat -rnW [-f inet|inet6]` (host, or a jail with -j / jexec): every route, one entry per
 * path. -W keeps interface names whole (without it they are cut to 8 characters).
 */
export async function listRoutes(family?: 4 | 6, where: NetstatWhere = {}): Promise<RouteEntry[]> {
  const args = ['-rnW', ...(family ? ['-f', family === 4 ? 'inet' : 'inet6'] : [])];
  const r = where.jail === undefined ? await runTool('netstat', args) : await runInJail('netstat', where.jail, args);
  return parseNetstatRoutes(r.stdout);
}
