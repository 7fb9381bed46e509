import validateIngress from '../../src/config/generated/ipam-ingress';
import validateAttachment from '../../src/config/generated/ipam-attachment';
import type { IngressRule } from '../../src/firewall/intent';
import { interfaceName } from '../../src/freebsd/names';
import type { AttachmentRef, IngressRequest } from '../../src/ipam/api-types';
import { IpamError } from '../../src/ipam/errors';
import { formatAddressOf, parseAddress } from '../../src/net/address';
import { networkCidr } from '../../src/net/cidr';
import { checkBody } from '../body';
import type { Handler } from '../context';

/** POST /v1/ingress/add, /v1/ingress/remove, /v1/ingress/check: an attachment's ingress policy (the firewall plugin). */

function invalid(field: string, message: string): never {
  throw new IpamError('invalid-request', `${field}: ${message}`, '', { field });
}

/** The request as a rule with canonical values, or a 400 naming the field. */
function ruleOf(body: IngressRequest): IngressRule & { jail?: string } {
  let bridge: string;
  try {
    bridge = interfaceName(body.bridge);
  } catch (err) {
    invalid('bridge', (err as Error).message);
  }
  const subnets = body.subnets.map((s, i) => {
    let cidr: string;
    try {
      cidr = networkCidr(s.cidr);
    } catch (err) {
      invalid(`subnets[${i}].cidr`, (err as Error).message);
    }
    if (s.gateway === undefined) return { cidr };
    const gw = parseAddress(s.gateway);
    if (!gw || (gw.family === 6) !== cidr.includes(':')) invalid(`subnets[${i}].gateway`, `${JSON.stringify(s.gateway)} is not an address of ${cidr}'s family`);
    return { cidr, gateway: formatAddressOf(gw) };
  });
  const rule: IngressRule & { jail?: string } = { network: body.network, containerID: body.containerID, ifname: body.ifname, policy: body.policy, bridge, subnets };
  if (body.jail) rule.jail = body.jail;
  return rule;
}

export const add: Handler = async (ctx, req) => {
  const body = checkBody<IngressRequest>(validateIngress, req.body, 'ingress/add');
  return { body: await ctx.firewall.addIngress(ruleOf(body)) };
};

export const remove: Handler = async (ctx, req) => {
  const body = checkBody<AttachmentRef>(validateAttachment, req.body, 'ingress/remove');
  return { body: { removed: await ctx.firewall.removeIngress({ network: body.network, containerID: body.containerID, ifname: body.ifname }) } };
};

export const check: Handler = async (ctx, req) => {
  const body = checkBody<IngressRequest>(validateIngress, req.body, 'ingress/check');
  await ctx.commit([]);
  await ctx.firewall.checkIngress(ruleOf(body));
  return { body: {} };
};
