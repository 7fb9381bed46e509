import { CniCode, CniError } from '../cni/errors';
import type { IpConfig, Result, Route } from '../cni/types';
import { cidr, ipAddress } from '../freebsd/values';
import { addressOf, familyOf, firstHost, isDefaultRoute, networkCidr, type Family } from '../net/cidr';
import { addressRefusal, gatewayRefusal, subnetRefusal } from '../net/unusable';

/**
 * What an IPAM result means for a link: the jail's addresses, the gateway of each family, the
 * gateway addresses the host side must hold, and the routes the jail gets (the reference
 * plugins' calcGateways, for FreeBSD).
 */
export interface AddressPlan {
  /** The IPAM addresses, gateways filled in when the host is the gateway. */
  ips: IpConfig[];
  /** One gateway per family (the first seen), for routes that name none. */
  gateways: Partial<Record<Family, string>>;
  /** "gateway/prefix" for each subnet, to be put on the bridge (isGateway). */
  gatewayCidrs: string[];
  /** Routes for the jail, default routes added when asked. */
  routes: Route[];
}

export interface PlanOptions {
  /** The host side holds the gateway addresses (fill in missing gateways with the first host). */
  isGateway: boolean;
  /** Give the jail a default route per family through the gateway. */
  isDefaultGateway: boolean;
}

export function planAddresses(ipam: Result, opts: PlanOptions): AddressPlan {
  const gateways: Partial<Record<Family, string>> = {};
  const gatewayCidrs: string[] = [];
  const ips = (ipam.ips ?? []).map((ip, n) => {
    try {
      cidr(ip.address);
      if (ip.gateway !== undefined) ipAddress(ip.gateway);
    } catch (err) {
      throw new CniError(CniCode.DecodingFailure, `IPAM result: ips[${n}]: ${(err as Error).message}`, 'the IPAM plugin returned an address jailnet cannot use');
    }
    // Whatever the IPAM plugin is, nothing it hands out may take a special-purpose address or
    // put a gateway outside the jail's subnet (src/net/unusable.ts); refused before any command.
    const refused = addressRefusal(addressOf(ip.address)) ?? subnetRefusal(networkCidr(ip.address)) ?? (ip.gateway !== undefined ? gatewayRefusal(ip.gateway, ip.address) : undefined);
    if (refused) throw new CniError(CniCode.InvalidNetworkConfig, `IPAM result: ips[${n}]: ${refused}`, 'fix the IPAM configuration (its ranges or gateway)');
    const family = familyOf(ip.address);
    const gateway = ip.gateway ?? (opts.isGateway ? firstHost(ip.address) : undefined);
    if (gateway !== undefined) {
      gateways[family] ??= gateway;
      const prefix = ip.address.slice(ip.address.indexOf('/'));
      if (opts.isGateway && !gatewayCidrs.includes(`${gateway}${prefix}`)) gatewayCidrs.push(`${gateway}${prefix}`);
      if (gateway === addressOf(ip.address)) {
        throw new CniError(CniCode.InvalidNetworkConfig, `IPAM gave the jail ${ip.address}, which is the gateway address`, 'exclude the gateway from the IPAM range');
      }
    }
    const out: IpConfig = { address: ip.address };
    if (gateway !== undefined) out.gateway = gateway;
    return out;
  });
  const routes: Route[] = (ipam.routes ?? []).map((r) => ({ ...r }));
  if (opts.isDefaultGateway) {
    for (const family of [4, 6] as const) {
      const gw = gateways[family];
      if (gw === undefined) continue;
      const hasDefault = routes.some((r) => isDefaultRoute(r.dst) && familyOf(r.dst) === family);
      if (!hasDefault) routes.push({ dst: family === 4 ? '0.0.0.0/0' : '::/0', gw });
    }
  }
  return { ips, gateways, gatewayCidrs, routes };
}
