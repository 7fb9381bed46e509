import { requirePrevResult, sandboxAddresses } from '../cni/chained';
import { CniCode, CniError } from '../cni/errors';
import type { CmdContext, PluginHandlers } from '../cni/skel';
import type { NetConf, Result } from '../cni/types';
import validateFirewallConfig from '../config/generated/firewall-config';
import { validateWith } from '../config/validate';
import { firewallClient } from '../firewall/client';
import type { IngressPolicy } from '../firewall/intent';
import { interfaceName, networkName } from '../freebsd/names';
import type { IngressRequest } from '../ipam/api-types';
import { jailnetdSettings, type JailnetdSection, type JailnetdSettings } from '../ipam/connection';
import { jailFromNetns } from '../jail/target';
import { log } from '../log/logger';
import { networkCidr } from '../net/cidr';
import { requirePfWithHooks } from '../pf/status';

/**
 * The `firewall` plugin (chained; nerdctl and podman list it after portmap): the reference
 * plugin's `ingressPolicy` with pf. `open` (the default) changes nothing; `same-bridge` and
 * `isolated` are rules of the network, in the anchor `jailnet/iso-NETWORK`, which jailnetd
 * loads and removes (src/pf/ingress-rules.ts says what they do). Each command is one request
 * to jailnetd, which records the policy per attachment: the rules stay while one attachment of
 * the network holds them, and its teardown (DEL, GC, the jail check) takes them with it. ADD of
 * such a policy fails with code 50 while pf would not evaluate the rules (disabled, or without
 * `anchor "jailnet/*"`), as portmap does: a network must not look isolated when it is not.
 *
 * The reference's iptables and firewalld chains for the jail's own traffic have no counterpart:
 * pf passes what its ruleset passes, and `backend` and the backend's fields are ignored.
 */

export interface FirewallConf extends NetConf, JailnetdSection {
  backend?: string;
  ingressPolicy?: '' | 'open' | IngressPolicy;
  iptablesAdminChainName?: string;
  firewalldZone?: string;
  /** Derived. */
  policy: 'open' | IngressPolicy;
  jailnetd: JailnetdSettings;
}

export function loadFirewallConfig(raw: Record<string, unknown>): FirewallConf {
  const conf = validateWith<FirewallConf>(validateFirewallConfig, raw, 'network configuration');
  networkName(conf.name);
  for (const field of ['iptablesAdminChainName', 'firewalldZone'] as const) {
    if (conf[field]) log.warn(`firewall: field "${field}" is for the reference plugin's ${field === 'firewalldZone' ? 'firewalld' : 'iptables'} backend; jailnet uses pf and ignores it`, { network: conf.name });
  }
  if (conf.backend && conf.backend !== 'pf') log.debug(`firewall: backend "${conf.backend}" ignored: jailnet uses pf`, { network: conf.name });
  return { ...conf, policy: conf.ingressPolicy || 'open', jailnetd: jailnetdSettings(conf, '') };
}

type Ctx = CmdContext<FirewallConf>;

/** The request for jailnetd: the bridge (prevResult's first interface, as the reference takes it) and the jail's subnets. */
export function ingressRequest(ctx: Ctx, prev: Result, policy: IngressPolicy): IngressRequest {
  const first = prev.interfaces?.[0];
  if (!first || first.sandbox) {
    throw new CniError(CniCode.InvalidNetworkConfig, `ingressPolicy "${policy}" needs the network's bridge as prevResult's first interface`, 'chain "firewall" after "bridge", as nerdctl and podman do');
  }
  let bridge: string;
  try {
    bridge = interfaceName(first.name);
  } catch (err) {
    throw new CniError(CniCode.InvalidNetworkConfig, `prevResult: interfaces[0]: ${(err as Error).message}`);
  }
  const subnets = new Map<string, { cidr: string; gateway?: string }>();
  const gateways = new Map((prev.ips ?? []).map((ip) => [ip.address, ip.gateway]));
  for (const address of sandboxAddresses(prev)) {
    const cidr = networkCidr(address);
    const gateway = gateways.get(address);
    if (!subnets.has(cidr)) subnets.set(cidr, gateway ? { cidr, gateway } : { cidr });
  }
  if (subnets.size === 0) throw new CniError(CniCode.InvalidNetworkConfig, 'prevResult lists no address of the jail', 'chain "firewall" after a plugin that gives the jail an address');
  const req: IngressRequest = { network: ctx.config.name, containerID: ctx.containerId, ifname: ctx.ifname, policy, bridge, subnets: [...subnets.values()] };
  if (ctx.netns) req.jail = jailFromNetns(ctx.netns);
  return req;
}

const client = (ctx: Ctx) => firewallClient(ctx.config.jailnetd, ctx.env);

export const handlers: PluginHandlers<FirewallConf> = {
  parseConfig: loadFirewallConfig,
  async add(ctx) {
    const prev = requirePrevResult(ctx.prevResult, 'firewall', 'ADD');
    const { policy } = ctx.config;
    // `open` asks nothing of jailnetd (podman's default file), so it needs no daemon.
    if (policy !== 'open') await client(ctx).addIngress(ingressRequest(ctx, prev, policy));
    return prev;
  },
  async del(ctx) {
    // An attachment added under an older file with another policy is cleaned by GC and the jail check.
    if (ctx.config.policy !== 'open') await client(ctx).removeIngress({ network: ctx.config.name, containerID: ctx.containerId, ifname: ctx.ifname });
  },
  async check(ctx) {
    const prev = requirePrevResult(ctx.prevResult, 'firewall', 'CHECK');
    if (ctx.config.policy !== 'open') await client(ctx).checkIngress(ingressRequest(ctx, prev, ctx.config.policy));
  },
  async gc(ctx) {
    await client(ctx).gc(ctx.config.name, ctx.validAttachments);
  },
  async status(ctx) {
    await client(ctx).health();
    // A policy other than open is filter rules: pf must evaluate `jailnet/*` in its main ruleset.
    if (ctx.config.policy !== 'open') await requirePfWithHooks('firewall', ['anchor']);
  },
};
