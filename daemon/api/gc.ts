import validateGc from '../../src/config/generated/ipam-gc';
import type { GcRequest, GcResponse } from '../../src/ipam/api-types';
import { leaseView, portsView } from '../../src/ipam/views';
import { log } from '../../src/log/logger';
import { checkBody } from '../body';
import type { Handler } from '../context';

/** POST /v1/gc: CNI GC for one network with its `cni.dev/valid-attachments`. */
export const gc: Handler = async (ctx, req) => {
  const body = checkBody<GcRequest>(validateGc, req.body, 'gc');
  const change = ctx.state.gc(body);
  await ctx.commit(change.records);
  const { leases, ports } = change.value;
  ctx.metrics.releases.gc += leases.length;
  for (const l of leases) log.info('GC released a lease', { network: l.network, containerID: l.containerID, ifname: l.ifname, ips: l.ips.map((ip) => ip.address) });
  for (const p of ports) log.info('GC released host ports', { network: p.network, containerID: p.containerID, ifname: p.ifname });
  const reply: GcResponse = { released: leases.map((l) => leaseView(l, true)), releasedPorts: ports.map(portsView) };
  return { body: reply };
};
