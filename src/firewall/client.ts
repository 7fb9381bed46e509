import type { AttachmentRef, GcResponse, IngressRequest, NatAddRequest, NatAddResponse, NatCheckRequest, NatRemoveRequest, NatRemoveResponse, PublishRequest, PublishResponse, UnpublishResponse } from '../ipam/api-types';
import { callJailnetd, type JailnetdSettings } from '../ipam/connection';

/**
 * The plugins' side of jailnetd's firewall owner (daemon/firewall.ts): each CNI command of nat,
 * portmap and bridge/epair's ipMasq is one request; jailnetd runs pfctl, records who holds
 * what and answers. The daemon is found and started as jailnet-ipam finds it (same fields and
 * defaults, src/ipam/connection.ts), so one daemon owns leases, ports and firewall state.
 */
export interface FirewallClient {
  addNat(req: NatAddRequest): Promise<NatAddResponse>;
  /** Takes the attachment's addresses (the given ones, or all) out of NAT; never another attachment's. */
  removeNat(req: NatRemoveRequest): Promise<NatRemoveResponse>;
  checkNat(req: NatCheckRequest): Promise<void>;
  publish(req: PublishRequest): Promise<PublishResponse>;
  unpublish(who: AttachmentRef): Promise<UnpublishResponse>;
  checkForward(req: PublishRequest): Promise<void>;
  /** The firewall plugin's ingress policy of an attachment (the network's rules follow). */
  addIngress(req: IngressRequest): Promise<{ created: boolean }>;
  removeIngress(who: AttachmentRef): Promise<{ removed: boolean }>;
  checkIngress(req: IngressRequest): Promise<void>;
  /** CNI GC of a network: everything of attachments not listed, in the teardown order. */
  gc(network: string, validAttachments: { containerID: string; ifname: string }[]): Promise<GcResponse>;
  health(): Promise<void>;
}

/** `fieldPrefix`: where the daemon's field names sit in the plugin's configuration, for messages. */
export function firewallClient(s: JailnetdSettings, env: NodeJS.ProcessEnv, fieldPrefix = ''): FirewallClient {
  const post = <T>(path: string, body: unknown) => callJailnetd<T>(s, env, 'POST', path, body, fieldPrefix);
  return {
    addNat: (req) => post('/v1/nat/add', req),
    removeNat: (req) => post('/v1/nat/remove', req),
    checkNat: async (req) => {
      await post('/v1/nat/check', req);
    },
    publish: (req) => post('/v1/ports/publish', req),
    unpublish: (who) => post('/v1/ports/unpublish', who),
    checkForward: async (req) => {
      await post('/v1/ports/check', req);
    },
    addIngress: (req) => post('/v1/ingress/add', req),
    removeIngress: (who) => post('/v1/ingress/remove', who),
    checkIngress: async (req) => {
      await post('/v1/ingress/check', req);
    },
    gc: (network, validAttachments) => post('/v1/gc', { network, validAttachments }),
    health: async () => {
      await callJailnetd(s, env, 'GET', '/v1/health', undefined, fieldPrefix);
    },
  };
}
