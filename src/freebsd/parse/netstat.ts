/** Parser of `netstat -rn[W]` (usr.bin/netstat/route.c, route_netlink.c). */

export interface RouteEntry {
  family: 4 | 6;
  /** As printed: "default", "10.0.0.0/24", "fe80::%em0/64", "10.0.0.5". */
  destination: string;
  /** An address ("10.0.0.1", "fe80::1%em0"), or "link#N" for an interface route. */
  gateway: string;
  flags: string;
  netif: string;
}

/**
 * One entry per line; a multipath route is several lines with the same destination (one per
 * path). Columns are taken by the header's names, so both releases' layouts (13.x `Use`, 14.x
 * `Nhop#`, with or without -W) parse the same.
 */
export function parseNetstatRoutes(output: string): RouteEntry[] {
  const lines = output.split('\n');
  if (!lines.some((l) => l.startsWith('Routing tables'))) throw new Error(`unexpected netstat output "${output.slice(0, 80)}"`);
  const out: RouteEntry[] = [];
  let family: 4 | 6 | undefined;
  let columns: string[] | undefined;
  for (const line of lines) {
    if (line === 'Internet:' || line === 'Internet6:') {
      family = line === 'Internet:' ? 4 : 6;
      columns = undefined;
      continue;
    }
    if (line.trim() === '' || family === undefined) continue;
    const words = line.trim().split(/\s+/);
    if (words[0] === 'Destination') {
      columns = words;
      continue;
    }
    if (!columns) continue;
    const at = (name: string) => {
      const i = columns?.indexOf(name) ?? -1;
      return i >= 0 ? words[i] : undefined;
    };
    const destination = at('Destination');
    const gateway = at('Gateway');
    const flags = at('Flags');
    const netif = at('Netif');
    if (destination && gateway && flags && netif) out.push({ family, destination, gateway, flags, netif });
  }
  return out;
}

/** The destination as address and prefix length ("default" is /0, a host /32 or /128), scope dropped. */
export function routeDestination(e: RouteEntry): { address: string; prefix: number } {
  if (e.destination === 'default') return { address: e.family === 4 ? '0.0.0.0' : '::', prefix: 0 };
  const [addr, plen] = e.destination.split('/') as [string, string | undefined];
  return { address: addr.split('%')[0] as string, prefix: plen === undefined ? (e.family === 4 ? 32 : 128) : Number(plen) };
}
