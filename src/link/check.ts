import { CniCode, CniError } from '../cni/errors';
import type { Result } from '../cni/types';
import { isJailNotFound } from '../freebsd/errors';
import { showInterface } from '../freebsd/ifconfig';
import type { InterfaceInfo } from '../freebsd/parse/ifconfig';
import { listRoutes } from '../freebsd/netstat';
import { getRoute } from '../freebsd/route';
import { canonicalAddress, familyOf, isDefaultRoute } from '../net/cidr';
import { jailMissing } from './epair';

/** CHECK helpers shared by the link plugins: each failure names what is missing or different. */

export function checkFailed(what: string, hint = 'DEL and ADD the attachment again to repair it'): CniError {
  return new CniError(CniCode.CheckFailed, what, hint);
}

export function requirePrevResult(prev: Result | undefined): Result {
  if (!prev) throw new CniError(CniCode.InvalidNetworkConfig, 'CHECK needs prevResult (the result of ADD)', 'the runtime passes the cached ADD result as prevResult');
  return prev;
}

export function heldAddresses(info: InterfaceInfo): string[] {
  return [...info.inet.map((a) => canonicalAddress(a.address)), ...info.inet6.map((a) => canonicalAddress(a.address))];
}

/** The jail end: present, up, with the MAC and every address prevResult gave it. */
export async function checkJailEnd(jail: string, ifname: string, prev: Result): Promise<void> {
  let info: InterfaceInfo | undefined;
  try {
    info = await showInterface(ifname, { jail });
  } catch (err) {
    if (isJailNotFound(err)) throw jailMissing(jail);
    throw err;
  }
  if (!info) throw checkFailed(`interface ${ifname} does not exist in jail ${jail}`);
  if (!info.flags.includes('UP')) throw checkFailed(`interface ${ifname} in jail ${jail} is down`);
  const index = prev.interfaces?.findIndex((i) => i.name === ifname && i.sandbox !== undefined) ?? -1;
  const expectedMac = index >= 0 ? prev.interfaces?.[index]?.mac : undefined;
  if (expectedMac && info.ether && expectedMac.toLowerCase() !== info.ether) {
    throw checkFailed(`interface ${ifname} in jail ${jail} has MAC ${info.ether}, not ${expectedMac}`);
  }
  const held = heldAddresses(info);
  for (const ip of prev.ips ?? []) {
    if (ip.interface !== undefined && ip.interface !== index) continue;
    const address = canonicalAddress(ip.address.split('/')[0] as string);
    if (!held.includes(address)) throw checkFailed(`interface ${ifname} in jail ${jail} lacks address ${ip.address}`);
  }
}

/**
 * Each default route of prevResult is the jail's one default route, through the same gateway.
 * A multipath default route (route get names no gateway for it) is a failure too: netstat
 * lists its paths so that the message names every gateway.
 */
export async function checkJailDefaultRoutes(jail: string, prev: Result): Promise<void> {
  for (const r of prev.routes ?? []) {
    if (!isDefaultRoute(r.dst) || !r.gw) continue;
    const family = familyOf(r.dst);
    const got = await getRoute('default', family, { jail });
    if (got && !got.gateway && got.flags.includes('GATEWAY')) {
      const paths = (await listRoutes(family, { jail })).filter((e) => e.destination === 'default').map((e) => e.gateway);
      throw checkFailed(
        `jail ${jail} has a multipath default route through ${paths.join(' and ') || 'several gateways'}; it should have one, through ${r.gw}`,
        `delete the other paths (route -j ${jail} delete default GATEWAY), or DEL and ADD the attachment`,
      );
    }
    if (!got?.gateway || canonicalAddress(got.gateway.split('%')[0] as string) !== canonicalAddress(r.gw)) {
      throw checkFailed(`jail ${jail} has no default route through ${r.gw}${got?.gateway ? ` (it goes through ${got.gateway})` : ''}`);
    }
  }
}
