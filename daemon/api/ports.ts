import validateRelease from '../../src/config/generated/ipam-ports-release';
import validateReserve from '../../src/config/generated/ipam-ports-reserve';
import type { PortsReleaseRequest, PortsReserveRequest } from '../../src/ipam/api-types';
import { portsView } from '../../src/ipam/views';
import { checkBody } from '../body';
import type { Handler } from '../context';

/** POST /v1/ports/reserve, /v1/ports/release; GET /v1/ports: host ports for portmap. */

export const reserve: Handler = async (ctx, req) => {
  const body = checkBody<PortsReserveRequest>(validateReserve, req.body, 'ports/reserve');
  const change = ctx.state.reservePorts(body);
  await ctx.commit(change.records);
  return { body: { reservation: portsView(change.value) } };
};

export const release: Handler = async (ctx, req) => {
  const body = checkBody<PortsReleaseRequest>(validateRelease, req.body, 'ports/release');
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
