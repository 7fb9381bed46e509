import { CniCode, CniError } from './errors';
import type { Result } from './types';

/**
 * What chained plugins (nat, portmap) read from prevResult: the result of the plugins before
 * them in the list, which they pass through unchanged.
 */

/** prevResult, or code 7 saying that the plugin only works chained. */
export function requirePrevResult(prev: Result | undefined, plugin: string, command: string): Result {
  if (prev) return prev;
  throw new CniError(
    CniCode.InvalidNetworkConfig,
    `${plugin} ${command} needs prevResult: ${plugin} is a chained plugin`,
    `list ${plugin} after a plugin that attaches the jail (bridge, epair) in a conflist; the runtime then passes that plugin's result as prevResult`,
  );
}

/**
 * The jail's addresses (CIDR) in prevResult: those on an interface inside the jail (one with
 * `sandbox`), and those that name no interface. Addresses on host-side interfaces are left out.
 */
export function sandboxAddresses(result: Result): string[] {
  const interfaces = result.interfaces ?? [];
  return (result.ips ?? []).filter((ip) => ip.interface === undefined || interfaces[ip.interface]?.sandbox !== undefined).map((ip) => ip.address);
}
