/** Parser of `route -n get ...` output ("   route to: default", "  interface: em0", ...). */

export interface RouteGet {
  destination?: string;
  mask?: string;
  gateway?: string;
  interface?: string;
  flags: string[];
  fib?: number;
}

export function parseRouteGet(output: string): RouteGet {
  const out: RouteGet = { flags: [] };
  for (const line of output.split('\n')) {
    const m = /^\s*([a-z ]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = (m[1] as string).trim();
    const value = (m[2] as string).trim();
    switch (key) {
      case 'destination':
        out.destination = value;
        break;
      case 'mask':
        out.mask = value;
        break;
      case 'gateway':
        out.gateway = value;
        break;
      case 'interface':
        out.interface = value;
        break;
      case 'fib':
        out.fib = Number(value);
        break;
      case 'flags':
        out.flags = (/<([^>]*)>/.exec(value)?.[1] ?? '').split(',').filter(Boolean);
        break;
    }
  }
  return out;
}

/** True when route(8) failed because the route exists ("route already in table"). */
export function isRouteExists(stdoutOrStderr: string): boolean {
  return /route already in table|File exists/.test(stdoutOrStderr);
}

/** True when route(8) failed because the route does not exist. */
export function isRouteMissing(stdoutOrStderr: string): boolean {
  return /not in table|route has not been found|No such process/.test(stdoutOrStderr);
}
