import { CniCode, CniError } from '../cni/errors';
import type { CmdContext, GcContext, PluginHandlers } from '../cni/skel';
import type { Result } from '../cni/types';
import { jailFromNetns } from '../jail/target';
import { DEFAULT_BRIDGE } from '../link/naming';
import type { AllocateRequest, AllocateResponse, CheckResponse, DnsServeResponse, GcResponse, StatusResponse } from './api-types';
import { callJailnetd } from './connection';
import { parseIpamConfig, requestedIps, requireUsableRanges, type IpamPluginConfig } from './plugin-config';
import { readResolvConf } from './resolv-conf';

/**
 * The jailnet-ipam plugin, also installed as `host-local`: each CNI command is one request to
 * jailnetd. The commands are also
 * what the link plugins run in-process when their `ipam.type` is jailnet-ipam (src/link/ipam.ts),
 * instead of starting this executable.
 */

type Ctx = CmdContext<IpamPluginConfig>;

/** One API call to jailnetd (started if need be); refusals name fields under "ipam.". */
function daemon<T>(ctx: Ctx, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  return callJailnetd<T>(ctx.config.settings, ctx.env, method, path, body, 'ipam.');
}

/**
 * The bridge of the network when the delegating plugin is bridge (IPAM gets the same
 * configuration): jailnetd does not count its addresses as the host's.
 */
function ownBridge(conf: IpamPluginConfig): string | undefined {
  if (conf.type !== 'bridge') return undefined;
  const b = (conf as { bridge?: unknown }).bridge;
  if (b === undefined) return DEFAULT_BRIDGE;
  return typeof b === 'string' && /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/.test(b) ? b : undefined;
}

const attachment = (ctx: Ctx) => ({ network: ctx.config.settings.network, containerID: ctx.containerId, ifname: ctx.ifname });

/**
 * ADD: the attachment's lease as an IPAM result, and whether it is new (false: a repeated ADD
 * found it). `dns`: the link plugin's names for jailnetd's DNS server (src/link/dns.ts).
 */
export async function allocate(ctx: Ctx, dns?: AllocateRequest['dns']): Promise<{ result: Result; created: boolean }> {
  const { settings } = ctx.config;
  requireUsableRanges(settings);
  const ips = requestedIps(settings, ctx.args);
  const bridge = ownBridge(ctx.config);
  const reply = await daemon<AllocateResponse>(ctx, 'POST', '/v1/allocate', { ...attachment(ctx), jail: jailFromNetns(ctx.netns), ranges: settings.ranges, ...(ips.length ? { ips } : {}), ...(bridge ? { bridge } : {}), ...(dns ? { dns } : {}), ...(settings.cluster ? { cluster: settings.cluster } : {}) });
  const result: Result = { cniVersion: ctx.cniVersion, ips: reply.lease.ips.map((ip) => (ip.gateway ? { address: ip.address, gateway: ip.gateway } : { address: ip.address })) };
  if (settings.routes.length > 0) result.routes = settings.routes.map((r) => ({ ...r }));
  // Always a dns object, empty when nothing is configured: the reference result's shape.
  result.dns = { ...(settings.resolvConf ? readResolvConf(settings.resolvConf, 'ipam.resolvConf') : {}), ...settings.dns };
  return { result, created: reply.created };
}

/** The attachment's gateway is in place: jailnetd's DNS server listens there when this returns. */
export function serveDns(ctx: Ctx): Promise<DnsServeResponse> {
  return daemon<DnsServeResponse>(ctx, 'POST', '/v1/dns/serve', attachment(ctx));
}

export async function release(ctx: Ctx): Promise<void> {
  await daemon(ctx, 'POST', '/v1/release', attachment(ctx));
}

export async function check(ctx: Ctx): Promise<void> {
  // A cluster network's pool is this host's blocks, which jailnetd knows and the file does not.
  const { settings } = ctx.config;
  const { lease } = await daemon<CheckResponse>(ctx, 'POST', '/v1/check', { ...attachment(ctx), ...(settings.cluster ? {} : { ranges: settings.ranges }) });
  const reported = new Set((ctx.prevResult?.ips ?? []).map((ip) => ip.address));
  const missing = ctx.prevResult ? lease.ips.filter((ip) => !reported.has(ip.address)) : [];
  if (missing.length > 0) {
    throw new CniError(CniCode.CheckFailed, `container ${ctx.containerId} interface ${ctx.ifname} holds ${missing.map((ip) => ip.address).join(', ')} on network ${ctx.config.settings.network}, which prevResult does not list`, 'the cached result is out of date; DEL and ADD the attachment');
  }
}

export async function gc(ctx: GcContext<IpamPluginConfig>): Promise<void> {
  await daemon<GcResponse>(ctx, 'POST', '/v1/gc', { network: ctx.config.settings.network, validAttachments: ctx.validAttachments });
}

export async function status(ctx: Ctx): Promise<void> {
  const reply = await daemon<StatusResponse>(ctx, 'GET', `/v1/status?network=${encodeURIComponent(ctx.config.settings.network)}`);
  const net = reply.networks[0];
  if (net && net.attachmentsLeft === 0) {
    throw new CniError(CniCode.NotAvailable, `network ${ctx.config.settings.network} has no free address left (${net.leases} leases)`, 'release attachments that are gone (CNI GC) or widen the ranges');
  }
}

/** The jailnet-ipam plugin's handlers (loaded by plugins/jailnet-ipam.ts after VERSION and the environment checks). */
export const handlers: PluginHandlers<IpamPluginConfig> = {
  parseConfig: parseIpamConfig,
  add: async (ctx) => (await allocate(ctx)).result,
  del: release,
  check,
  gc,
  status,
};
