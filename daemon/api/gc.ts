import validateGc from '../../src/config/generated/ipam-gc';
import type { GcRequest, GcResponse } from '../../src/ipam/api-types';
import { IpamError } from '../../src/ipam/errors';
import { leaseView, portsView } from '../../src/ipam/views';
import { log } from '../../src/log/logger';
import { checkBody } from '../body';
import type { Handler } from '../context';
import { natView } from '../firewall';

/**
 * POST /v1/gc: CNI GC for one network with its `cni.dev/valid-attachments`. Every plugin of a
 * network sends the same list (the runtime calls each plugin's GC in an order that is not
 * jailnet's to choose), and the first call does the whole job in the one safe order
 * (daemon/firewall.ts gc): the later ones find nothing left.
 */
export const gc: Handler = async (ctx, req) => {
  const body = checkBody<GcRequest>(validateGc, req.body, 'gc');
  const r = await ctx.firewall.gc(body.network, body.validAttachments);
  await ctx.dns.settle();
  ctx.metrics.releases.gc += r.leases.length;
  for (const l of r.leases) log.info('GC released a lease', { network: l.network, containerID: l.containerID, ifname: l.ifname, ips: l.ips.map((ip) => ip.address) });
  for (const p of r.ports) log.info('GC released host ports', { network: p.network, containerID: p.containerID, ifname: p.ifname });
  for (const f of r.forwards) log.info('GC removed port forwards', { ...f });
  for (const n of r.nat) log.info('GC removed NAT', { network: n.network, containerID: n.containerID, ifname: n.ifname, addresses: n.addresses });
  for (const name of [...r.stale, ...r.interfaces]) log.info(`GC removed ${name}`, { network: body.network });
  if (r.failures.length > 0) {
    const first = r.failures[0]?.error;
    throw new IpamError(
      first instanceof IpamError ? first.reason : 'host-command-failed',
      `GC of network ${body.network} could not finish for ${r.failures.length} attachment(s): ${r.failures.map((f) => `${f.key}: ${f.error.message}`).join('; ')}`,
      'what failed and what comes after it in the teardown order stays; GC again once the cause is fixed',
    );
  }
  const reply: GcResponse = {
    released: r.leases.map((l) => leaseView(l, true)),
    releasedPorts: r.ports.map(portsView),
    removedNat: r.nat.map(natView),
    removedForwards: r.forwards,
    removedStale: r.stale,
    destroyedInterfaces: r.interfaces,
  };
  return { body: reply };
};
