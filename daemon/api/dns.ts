import validateAttachment from '../../src/config/generated/ipam-attachment';
import type { DnsServeRequest } from '../../src/ipam/api-types';
import { checkBody } from '../body';
import type { Handler } from '../context';

/** POST /v1/dns/serve (the link plugin, once the gateway is in place); GET /v1/dns. */

export const serve: Handler = async (ctx, req) => {
  const body = checkBody<DnsServeRequest>(validateAttachment, req.body, 'dns/serve');
  await ctx.commit([]);
  return { body: await ctx.dns.serve(body.network, body.containerID, body.ifname) };
};

export const status: Handler = async (ctx) => {
  await ctx.dns.settle();
  return { body: ctx.dns.status() };
};
