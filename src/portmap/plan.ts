import { sandboxAddresses } from '../cni/chained';
import { CniCode, CniError } from '../cni/errors';
import type { Result } from '../cni/types';
import { interfaceName } from '../freebsd/names';
import { cidr } from '../freebsd/values';
import { addressOf, networkCidr } from '../net/cidr';
import type { HostAddress, PortRedirect } from '../pf/port-rules';
import { describeMapping, hostFamily, isWildcard, type PortMapping } from './mappings';

/**
 * From the mappings and prevResult to the redirects the anchor holds (pure). The jail's first
 * IPv4 and first IPv6 address are the targets; a mapping is published for each family the jail
 * has an address of, unless its hostIP names one family. Without hostIP a port listens on the
 * external interface's addresses and, on a bridge, on the bridge's (the jails' gateway).
 */

export interface PublishTarget {
  /** The jail's addresses as CIDR, by family. */
  v4?: string;
  v6?: string;
  /** The bridge the jail is on (neighbours need hairpin NAT); none for an epair link. */
  bridge?: string;
}

/** The jail's addresses and bridge from prevResult (`bridge` from the configuration wins). */
export function publishTarget(prev: Result, configuredBridge: string | undefined): PublishTarget {
  const target: PublishTarget = {};
  for (const address of sandboxAddresses(prev)) {
    try {
      cidr(address);
    } catch (err) {
      throw new CniError(CniCode.InvalidNetworkConfig, `prevResult: ${(err as Error).message}`);
    }
    if (address.includes(':')) target.v6 ??= address;
    else target.v4 ??= address;
  }
  // The bridge plugin's result is [bridge, host end, jail end]; epair's is [host end, jail end].
  const hostSide = (prev.interfaces ?? []).filter((i) => i.sandbox === undefined || i.sandbox === '');
  const bridge = configuredBridge ?? (hostSide.length >= 2 ? hostSide[0]?.name : undefined);
  if (bridge !== undefined) {
    try {
      target.bridge = interfaceName(bridge);
    } catch (err) {
      throw new CniError(CniCode.InvalidNetworkConfig, `${configuredBridge !== undefined ? 'network configuration: field "bridge"' : 'prevResult: interfaces[0]'}: ${(err as Error).message}`);
    }
  }
  return target;
}

/** True when some mapping listens on every host address (so the external interface is needed). */
export function needsExternalInterface(mappings: readonly PortMapping[]): boolean {
  return mappings.some((m) => isWildcard(m.hostIP));
}

export interface PlanOptions {
  externalInterface?: string;
  /** Hairpin NAT for neighbours on the bridge (the reference portmap's `snat`). */
  snat: boolean;
}

/** The families a mapping is published in: those the jail has, narrowed by hostIP. Code 7 when none. */
function familiesOf(m: PortMapping, target: PublishTarget): (4 | 6)[] {
  if (!target.v4 && !target.v6) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'prevResult lists no address of the jail to publish ports to', 'chain portmap after a plugin that gives the jail an address (bridge, epair with IPAM)');
  }
  const only = hostFamily(m.hostIP);
  const families = ([4, 6] as const).filter((f) => (f === 4 ? target.v4 : target.v6) !== undefined && (only === 0 || only === f));
  if (families.length === 0) {
    throw new CniError(CniCode.InvalidNetworkConfig, `${describeMapping(m)}: hostIP ${m.hostIP} is IPv${only} but the jail has no IPv${only} address`, 'use a hostIP of the family the jail has, or leave hostIP out');
  }
  return families;
}

/** Fails (code 7) when a mapping cannot be published to this jail; runs nothing, needs no interface. */
export function checkPublishable(mappings: readonly PortMapping[], target: PublishTarget): void {
  for (const m of mappings) familiesOf(m, target);
}

export function planRedirects(mappings: readonly PortMapping[], target: PublishTarget, opts: PlanOptions): PortRedirect[] {
  const out: PortRedirect[] = [];
  for (const m of mappings) {
    for (const family of familiesOf(m, target)) {
      const jailCidr = (family === 4 ? target.v4 : target.v6) as string;
      const to: HostAddress[] = [];
      if (isWildcard(m.hostIP)) {
        if (!opts.externalInterface) throw new CniError(CniCode.InvalidNetworkConfig, `no external interface to publish ${describeMapping(m)} on`, 'set "externalInterface" in the portmap configuration, or give the host a default route');
        to.push({ interface: opts.externalInterface });
        if (target.bridge) to.push({ interface: target.bridge });
      } else to.push({ address: m.hostIP as string });
      const r: PortRedirect = { family, protocol: m.protocol, to, hostPort: m.hostPort, hostPortEnd: m.hostPortEnd, jailAddress: addressOf(jailCidr), containerPort: m.containerPort };
      if (opts.snat && target.bridge) r.hairpin = { bridge: target.bridge, subnet: networkCidr(jailCidr) };
      out.push(r);
    }
  }
  return out;
}
