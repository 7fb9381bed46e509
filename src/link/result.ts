import type { CniInterface, Dns, Result } from '../cni/types';
import type { AddressPlan } from './addresses';

/**
 * The ADD result of a link plugin: its interfaces (the jail end last, with its sandbox), the
 * addresses on the jail end, routes and DNS.
 */
export function linkResult(cniVersion: string, interfaces: CniInterface[], plan: AddressPlan, dns: Dns | undefined): Result {
  const jailIndex = interfaces.length - 1;
  const result: Result = {
    cniVersion,
    interfaces,
    ips: plan.ips.map((ip) => ({ ...ip, interface: jailIndex })),
  };
  if (plan.routes.length) result.routes = plan.routes;
  if (dns && Object.keys(dns).length) result.dns = dns;
  return result;
}
