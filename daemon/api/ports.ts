import validatePublish from '../../src/config/generated/ipam-ports-publish';
import validateAttachment from '../../src/config/generated/ipam-attachment';
import validateRelease from '../../src/config/generated/ipam-ports-release';
import validateReserve from '../../src/config/generated/ipam-ports-reserve';
import type { PortForward } from '../../src/firewall/intent';
import { interfaceName } from '../../src/freebsd/names';
import { cidr } from '../../src/freebsd/values';
import type { PortsReleaseRequest, PortsReserveRequest, PublishRequest, PublishResponse, ReleaseRequest, UnpublishResponse } from '../../src/ipam/api-types';
import { IpamError } from '../../src/ipam/errors';
import { attachmentKey } from '../../src/ipam/lease';
import { describePortEntry, normalizePortEntry } from '../../src/ipam/ports';
import { portsView } from '../../src/ipam/views';
import { parsePortMappings } from '../../src/portmap/mappings';
import { checkBody } from '../body';
import type { Handler } from '../context';

/**
 * POST /v1/ports/reserve, /v1/ports/release; GET /v1/ports: host-port reservations.
 * POST /v1/ports/publish, /v1/ports/unpublish, /v1/ports/check; GET /v1/forwards: an
 * attachment's port forwards (reservation, pf rules, userland proxy), see daemon/firewall.ts.
 */

export const reserve: Handler = async (ctx, req) => {
  const body = checkBody<PortsReserveRequest>(validateReserve, req.body, 'ports/reserve');
  const change = ctx.state.reservePorts(body);
  await ctx.commit(change.records);
  return { body: { reservation: portsView(change.value) } };
};

export const release: Handler = async (ctx, req) => {
  const body = checkBody<PortsReleaseRequest>(validateRelease, req.body, 'ports/release');
  // Ports a forward publishes go with the forward (unpublish): never free while rules point at them.
  const forward = ctx.state.forwards.get(attachmentKey(body.network, body.containerID, body.ifname));
  if (forward) {
    const entries = body.ports?.map((p, i) => normalizePortEntry(p, `ports[${i}]`)) ?? ctx.state.ports.reservations.get(attachmentKey(body.network, body.containerID, body.ifname))?.entries ?? [];
    const first = entries[0];
    if (first) {
      throw new IpamError('port-published', `host port ${describePortEntry(first)} of container ${body.containerID} interface ${body.ifname} is published by its port forwards`, 'remove them first: POST /v1/ports/unpublish (what portmap DEL does)');
    }
  }
  const change = ctx.state.releasePorts(body, body.ports);
  await ctx.commit(change.records);
  return { body: { released: change.value.map((e) => ({ ...e })) } };
};

export const list: Handler = async (ctx, req) => {
  await ctx.commit([]);
  const network = req.query.get('network');
  const container = req.query.get('container');
  const out = [...ctx.state.ports.reservations.values()].filter((r) => (!network || r.network === network) && (!container || r.containerID === container));
  return { body: { reservations: out.map(portsView) } };
};

/** The request as an intent, every value checked again (the plugin checked them; the socket is an API). */
function forwardOf(body: PublishRequest): PortForward {
  const field = (name: string, check: () => unknown) => {
    try {
      check();
    } catch (err) {
      throw new IpamError('invalid-request', `${name}: ${(err as Error).message}`, '', { field: name });
    }
  };
  let mappings;
  try {
    mappings = parsePortMappings(body.mappings);
  } catch (err) {
    throw new IpamError('invalid-request', `mappings: ${(err as Error).message.replace(/runtimeConfig\.portMappings/g, 'mappings')}`, '', { field: 'mappings' });
  }
  const { v4, v6, bridge } = body.target;
  const ofFamily = (text: string, family: 4 | 6) => {
    if (cidr(text).includes(':') !== (family === 6)) throw new Error(`${text} is not an IPv${family} address`);
  };
  if (v4 !== undefined) field('target.v4', () => ofFamily(v4, 4));
  if (v6 !== undefined) field('target.v6', () => ofFamily(v6, 6));
  if (bridge !== undefined) field('target.bridge', () => interfaceName(bridge));
  if (body.externalInterface !== undefined) field('externalInterface', () => interfaceName(body.externalInterface));
  const fwd: PortForward = { network: body.network, containerID: body.containerID, ifname: body.ifname, mappings, target: { ...body.target }, snat: body.snat, userlandProxy: body.userlandProxy };
  if (body.externalInterface !== undefined) fwd.externalInterface = body.externalInterface;
  return fwd;
}

export const publish: Handler = async (ctx, req) => {
  const body = checkBody<PublishRequest>(validatePublish, req.body, 'ports/publish');
  const reply: PublishResponse = await ctx.firewall.publish(forwardOf(body), body.jail);
  // A cluster network records its hosts' published ports in etcd (daemon/cluster/network.ts).
  void ctx.cluster.known(body.network)?.resync();
  return { body: reply };
};

export const unpublish: Handler = async (ctx, req) => {
  const body = checkBody<ReleaseRequest>(validateAttachment, req.body, 'ports/unpublish');
  const reply: UnpublishResponse = { released: await ctx.firewall.unpublish({ network: body.network, containerID: body.containerID, ifname: body.ifname }) };
  void ctx.cluster.known(body.network)?.resync();
  return { body: reply };
};

export const check: Handler = async (ctx, req) => {
  const body = checkBody<PublishRequest>(validatePublish, req.body, 'ports/check');
  await ctx.commit([]);
  return { body: { forward: await ctx.firewall.checkForward(forwardOf(body)) } };
};

export const forwards: Handler = async (ctx, req) => {
  await ctx.commit([]);
  const network = req.query.get('network');
  const container = req.query.get('container');
  const out = [...ctx.state.forwards.values()].filter((f) => (!network || f.network === network) && (!container || f.containerID === container));
  return { body: { forwards: out.map((f) => ctx.firewall.forwardView(f)) } };
};
