import validateNatAdd from '../../src/config/generated/ipam-nat-add';
import validateNatCheck from '../../src/config/generated/ipam-nat-check';
import validateNatRemove from '../../src/config/generated/ipam-nat-remove';
import type { NatAddRequest, NatAddResponse, NatCheckRequest, NatRemoveRequest, NatRemoveResponse } from '../../src/ipam/api-types';
import { IpamError } from '../../src/ipam/errors';
import { formatAddressOf, parseAddress } from '../../src/net/address';
import { interfaceName } from '../../src/freebsd/names';
import { checkBody } from '../body';
import type { Handler } from '../context';
import { natView } from '../firewall';

/** POST /v1/nat/add, /v1/nat/remove, /v1/nat/check; GET /v1/nat: an attachment's outbound NAT. */

/** Canonical IPv4 addresses, or a 400 naming the entry. */
function ipv4List(addresses: readonly string[] | undefined): string[] | undefined {
  return addresses?.map((text, i) => {
    const a = parseAddress(text);
    if (!a || a.family !== 4) throw new IpamError('invalid-request', `addresses[${i}]: ${JSON.stringify(text)} is not an IPv4 address`, 'NAT translates IPv4 only; IPv6 is routed', { field: `addresses[${i}]` });
    return formatAddressOf(a);
  });
}

export const add: Handler = async (ctx, req) => {
  const body = checkBody<NatAddRequest>(validateNatAdd, req.body, 'nat/add');
  if (body.egressInterface !== undefined) {
    try {
      interfaceName(body.egressInterface);
    } catch (err) {
      throw new IpamError('invalid-request', `egressInterface: ${(err as Error).message}`, '', { field: 'egressInterface' });
    }
  }
  const { network, containerID, ifname, jail, egressInterface } = body;
  const reply: NatAddResponse = await ctx.firewall.addNat({ network, containerID, ifname, ...(jail ? { jail } : {}), ...(egressInterface ? { egressInterface } : {}) }, ipv4List(body.addresses) ?? []);
  return { body: reply };
};

export const remove: Handler = async (ctx, req) => {
  const body = checkBody<NatRemoveRequest>(validateNatRemove, req.body, 'nat/remove');
  const reply: NatRemoveResponse = { removed: await ctx.firewall.removeNat({ network: body.network, containerID: body.containerID, ifname: body.ifname }, ipv4List(body.addresses)) };
  return { body: reply };
};

export const check: Handler = async (ctx, req) => {
  const body = checkBody<NatCheckRequest>(validateNatCheck, req.body, 'nat/check');
  await ctx.commit([]);
  return { body: { nat: await ctx.firewall.checkNat({ network: body.network, containerID: body.containerID, ifname: body.ifname }, ipv4List(body.addresses) ?? []) } };
};

export const list: Handler = async (ctx, req) => {
  await ctx.commit([]);
  const network = req.query.get('network');
  const container = req.query.get('container');
  const out = [...ctx.state.nat.holdings.values()].filter((h) => (!network || h.network === network) && (!container || h.containerID === container));
  return { body: { nat: out.map(natView) } };
};
