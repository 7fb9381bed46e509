import { CniCode, CniError } from '../cni/errors';
import { defaultRouteInterface } from '../freebsd/route';
import type { PublishTarget } from './plan';

/**
 * The interface whose addresses publish ports that name no hostIP: `externalInterface` from the
 * configuration, else the interface of the host's default route (one `route -n get`; IPv6's
 * when the jail has no IPv4 address or the host no IPv4 default route).
 */
export async function externalInterface(configured: string | undefined, target: PublishTarget): Promise<string> {
  if (configured !== undefined) return configured;
  const found = (target.v4 ? await defaultRouteInterface(4) : undefined) ?? (target.v6 ? await defaultRouteInterface(6) : undefined);
  if (!found) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'portmap: the host has no default route, so there is no external interface to publish ports on', 'set "externalInterface" in the portmap configuration, or give every mapping a hostIP');
  }
  return found;
}
