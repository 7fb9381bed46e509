import { CniCode, CniError } from '../cni/errors';
import type { CmdContext } from '../cni/skel';
import type { Dns } from '../cni/types';
import { gatherNames, InvalidDnsName, networkDomain } from '../dns/names';
import { JAIL_RESOLVER_OPTIONS } from '../dns/resolv-conf';
import * as jailnetIpam from '../ipam/plugin';
import { ipamConfigOf } from '../ipam/plugin-config';
import { jailFromNetns } from '../jail/target';
import { log } from '../log/logger';
import type { LinkConf } from './config';

/**
 * The link plugins' part of jailnetd's DNS server (docs/dns.md). When the network's IPAM is
 * jailnet-ipam and the plugin puts the gateway on the host (bridge with isGateway, epair), and
 * `dnsServer` is not false, the lease is asked for with the attachment's names, and once the
 * gateway is in place jailnetd is told to serve it; the result's `dns` then names the gateway.
 * host-local, though jailnetd serves it too, keeps the reference's meaning: its result's `dns`
 * is its resolvConf, which the runtime's file chose (nerdctl and podman write the jail's
 * resolv.conf themselves), so a file written for the reference plugin behaves as it did.
 */
const IPAM_WITH_DNS_SERVER = 'jailnet-ipam';

export interface DnsRequest {
  names: string[];
  domain?: string;
}

/** The names and domain to allocate with, or undefined when the attachment does not use the DNS server. Checks the names first. */
export function dnsRequest(ctx: CmdContext<LinkConf>, gatewayOnHost: boolean): DnsRequest | undefined {
  const conf = ctx.config;
  if (conf.dnsServer === false || !gatewayOnHost || conf.ipam?.type !== IPAM_WITH_DNS_SERVER) return undefined;
  const jail = jailFromNetns(ctx.netns);
  let gathered;
  try {
    gathered = gatherNames({ aliases: conf.runtimeConfig?.aliases, podName: ctx.args.get('K8S_POD_NAME'), jail, network: conf.name });
  } catch (err) {
    if (!(err instanceof InvalidDnsName)) throw err;
    const code = err.source.startsWith('CNI_ARGS') ? CniCode.InvalidEnvironment : CniCode.InvalidNetworkConfig;
    throw new CniError(code, err.message, 'names are host names: letters, digits and "-", labels separated by "."');
  }
  if (gathered.skippedJail !== undefined) log.info(`jail ${jail} has no DNS name of its own on network ${conf.name}: its name is not a host name (give one with the aliases capability)`);
  const req: DnsRequest = { names: gathered.names };
  const domain = networkDomain(conf.name, conf.dns?.domain);
  if (domain) req.domain = domain;
  return req;
}

/**
 * The gateway is in place: jailnetd listens there before this returns. The result's `dns`:
 * the gateways as nameservers, the network's domain, searched first, and resolver options that
 * ride out a restart of jailnetd, with what the network file's `dns` adds.
 */
export async function serveDns(ctx: CmdContext<LinkConf>): Promise<Dns> {
  const served = await jailnetIpam.serveDns({ ...ctx, config: ipamConfigOf(ctx.config) });
  const extra = ctx.config.dns;
  const dns: Dns = { nameservers: served.nameservers };
  if (served.domain) dns.domain = served.domain;
  const search = [...(served.domain ? [served.domain] : []), ...(extra?.search ?? [])];
  if (search.length) dns.search = [...new Set(search)];
  const options = [...JAIL_RESOLVER_OPTIONS, ...(extra?.options ?? []).filter((o) => !/^(timeout|attempts):/.test(o))];
  dns.options = options;
  return dns;
}
