import validateAllocate from '../../src/config/generated/ipam-allocate';
import validateAttachment from '../../src/config/generated/ipam-attachment';
import validateCheck from '../../src/config/generated/ipam-check';
import type { AllocateRequest, AllocateResponse, CheckRequest, CheckResponse, ReleaseRequest, ReleaseResponse } from '../../src/ipam/api-types';
import { canonicalName } from '../../src/dns/names';
import { attachmentKey } from '../../src/ipam/lease';
import type { StateRecord } from '../../src/ipam/records';
import { IpamError } from '../../src/ipam/errors';
import { checkUsableRanges, type RangeConfig } from '../../src/ipam/range';
import { leaseView } from '../../src/ipam/views';
import { log } from '../../src/log/logger';
import { checkBody } from '../body';
import type { ClusterNetwork } from '../cluster/network';
import type { DaemonContext, Handler } from '../context';

/** POST /v1/allocate, /v1/release, /v1/check; GET /v1/leases. */

/** Names as the DNS server compares them: lower case, each once, in the order given. */
function canonicalDns(dns: NonNullable<AllocateRequest['dns']>): NonNullable<AllocateRequest['dns']> {
  const out: NonNullable<AllocateRequest['dns']> = { names: [...new Set(dns.names.map(canonicalName))] };
  if (dns.domain) out.domain = canonicalName(dns.domain);
  return out;
}

export const allocate: Handler = async (ctx, req) => {
  const body = checkBody<AllocateRequest>(validateAllocate, req.body, 'allocate');
  if (body.dns) body.dns = canonicalDns(body.dns);
  // Ranges no new attachment may use: special-purpose subnets, a gateway outside its subnet
  // (pure), then the host's own addresses and routes (read the first time these ranges come).
  checkUsableRanges(body.ranges);
  await ctx.checkHostConflicts(body.ranges, body.bridge);
  const cluster = body.cluster ? await joinCluster(ctx, body) : undefined;
  let outcome: { lease: import('../../src/ipam/lease').Lease; created: boolean } | undefined;
  for (;;) {
    // Synchronous from the ranges to the allocation: a block claimed by a concurrent request
    // is in the ranges this one gives the pool.
    const blocksSeen = cluster?.blockCount ?? 0;
    const ranges = cluster ? cluster.ranges() : body.ranges;
    const now = Date.now();
    const net = ctx.state.ensureNetwork(body.network, ranges, now, body.dns?.domain);
    const records: StateRecord[] = [...net.records];
    // A cluster network's ranges grow with its blocks; that is no configuration change.
    if (net.value.changed && !cluster) {
      ctx.metrics.configChanges++;
      log.warn(`ranges of network ${body.network} changed; existing leases are kept, new addresses come from the new ranges`, {
        network: body.network,
        ranges: body.ranges,
        outOfRange: net.value.outOfRange.map((l) => `${l.containerID}/${l.ifname}`),
      });
    }
    let refusal: unknown;
    try {
      const change = ctx.state.allocate({ ...body, ranges }, now);
      records.push(...change.records);
      outcome = change.value;
    } catch (err) {
      refusal = err;
    }
    // A configuration change is kept even when the allocation it came with is refused.
    await ctx.commit(records);
    if (cluster && refusal instanceof IpamError && refusal.reason === 'pool-exhausted') {
      // The host's blocks are full: one etcd transaction for another block, then again (a
      // concurrent request may fill the new block first; claimBlock fails when none is left).
      await cluster.claimBlock(blocksSeen);
      continue;
    }
    if (refusal !== undefined || !outcome) throw refusal;
    break;
  }
  if (cluster && outcome.created && body.dns && body.dns.names.length > 0) {
    try {
      await cluster.publishNames(body.containerID, body.ifname, body.dns.names, outcome.lease.ips.map((ip) => ip.address));
    } catch (err) {
      // Nothing half-made: the lease this call created goes again.
      await ctx.commit(ctx.state.release(body.network, body.containerID, body.ifname).records);
      throw err;
    }
  }
  if (outcome.created) {
    ctx.metrics.allocations++;
    log.debug('allocated', { network: body.network, containerID: body.containerID, ifname: body.ifname, ips: outcome.lease.ips.map((ip) => ip.address) });
  }
  const reply: AllocateResponse = { lease: leaseView(outcome.lease, ctx.state.isInRange(outcome.lease)), created: outcome.created };
  return { body: reply };
};

/**
 * A cluster network's state on this host, joined (etcd reached, membership registered, a block
 * owned) and serving: refused (503) when fenced or etcd does not answer, before any change.
 */
async function joinCluster(ctx: DaemonContext, body: AllocateRequest): Promise<ClusterNetwork> {
  const cluster = body.cluster as NonNullable<AllocateRequest['cluster']>;
  const sets = body.ranges;
  if (sets.length !== 1 || sets[0]?.length !== 1 || sets[0][0]?.rangeStart || sets[0][0]?.rangeEnd) {
    throw new IpamError('invalid-config', 'ranges: a cluster network has one IPv4 subnet and no rangeStart/rangeEnd (hosts claim blocks of it)', 'write "ranges": [[{"subnet": "10.90.0.0/16"}]]', { field: 'ranges' });
  }
  if (body.ips && body.ips.length > 0) {
    throw new IpamError('address-not-allowed', `static addresses are not supported on cluster network ${body.network}`, 'leave out ips / IP= for cluster networks: addresses come from this host\'s blocks');
  }
  const net = await ctx.cluster.network(body.network, cluster, (sets[0] as RangeConfig[])[0]?.subnet as string, body.bridge);
  net.requireServing();
  return net;
}

export const release: Handler = async (ctx, req) => {
  const body = checkBody<ReleaseRequest>(validateAttachment, req.body, 'release');
  if (ctx.firewall.holdsFirewallState(attachmentKey(body.network, body.containerID, body.ifname))) {
    // What still points at the address (NAT, port forwards) goes first, then lease and ports.
    const lease = ctx.state.lease(body.network, body.containerID, body.ifname);
    const r = await ctx.firewall.teardown([attachmentKey(body.network, body.containerID, body.ifname)], { interfaces: false });
    const failed = r.failures[0];
    if (failed) throw failed.error;
    await ctx.dns.settle();
    if (lease?.names?.length) await ctx.cluster.known(body.network)?.unpublishNames(body.containerID, body.ifname, lease.names);
    if (lease) ctx.metrics.releases.del++;
    const reply: ReleaseResponse = { released: lease ? leaseView(lease, ctx.state.isInRange(lease)) : null };
    return { body: reply };
  }
  const change = ctx.state.release(body.network, body.containerID, body.ifname);
  await ctx.commit(change.records);
  if (change.value?.names?.length) await ctx.cluster.known(body.network)?.unpublishNames(body.containerID, body.ifname, change.value.names);
  // The DNS server stops listening when this was the last attachment of the gateway.
  await ctx.dns.settle();
  if (change.value) {
    ctx.metrics.releases.del++;
    log.debug('released', { network: body.network, containerID: body.containerID, ifname: body.ifname });
  }
  const reply: ReleaseResponse = { released: change.value ? leaseView(change.value, ctx.state.isInRange(change.value)) : null };
  return { body: reply };
};

export const check: Handler = async (ctx, req) => {
  const body = checkBody<CheckRequest>(validateCheck, req.body, 'check');
  await ctx.commit([]);
  const lease = ctx.state.check(body.network, body.containerID, body.ifname, body.ranges);
  const reply: CheckResponse = { lease: leaseView(lease, ctx.state.isInRange(lease)) };
  return { body: reply };
};

export const list: Handler = async (ctx, req) => {
  await ctx.commit([]);
  const filter: { network?: string; containerID?: string } = {};
  const network = req.query.get('network');
  const container = req.query.get('container');
  if (network) filter.network = network;
  if (container) filter.containerID = container;
  return { body: { leases: ctx.state.leases(filter).map((l) => leaseView(l, ctx.state.isInRange(l))) } };
};
