import validateAllocate from '../../src/config/generated/ipam-allocate';
import validateAttachment from '../../src/config/generated/ipam-attachment';
import validateCheck from '../../src/config/generated/ipam-check';
import type { AllocateRequest, AllocateResponse, CheckRequest, CheckResponse, ReleaseRequest, ReleaseResponse } from '../../src/ipam/api-types';
import { canonicalName } from '../../src/dns/names';
import { attachmentKey } from '../../src/ipam/lease';
import type { StateRecord } from '../../src/ipam/records';
import { checkUsableRanges } from '../../src/ipam/range';
import { leaseView } from '../../src/ipam/views';
import { log } from '../../src/log/logger';
import { checkBody } from '../body';
import type { Handler } from '../context';

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
  const now = Date.now();
  const net = ctx.state.ensureNetwork(body.network, body.ranges, now, body.dns?.domain);
  const records: StateRecord[] = [...net.records];
  if (net.value.changed) {
    ctx.metrics.configChanges++;
    log.warn(`ranges of network ${body.network} changed; existing leases are kept, new addresses come from the new ranges`, {
      network: body.network,
      ranges: body.ranges,
      outOfRange: net.value.outOfRange.map((l) => `${l.containerID}/${l.ifname}`),
    });
  }
  let outcome: { lease: import('../../src/ipam/lease').Lease; created: boolean } | undefined;
  let refusal: unknown;
  try {
    const change = ctx.state.allocate(body, now);
    records.push(...change.records);
    outcome = change.value;
  } catch (err) {
    refusal = err;
  }
  // A configuration change is kept even when the allocation it came with is refused.
  await ctx.commit(records);
  if (refusal !== undefined || !outcome) throw refusal;
  if (outcome.created) {
    ctx.metrics.allocations++;
    log.debug('allocated', { network: body.network, containerID: body.containerID, ifname: body.ifname, ips: outcome.lease.ips.map((ip) => ip.address) });
  }
  const reply: AllocateResponse = { lease: leaseView(outcome.lease, ctx.state.isInRange(outcome.lease)), created: outcome.created };
  return { body: reply };
};

export const release: Handler = async (ctx, req) => {
  const body = checkBody<ReleaseRequest>(validateAttachment, req.body, 'release');
  if (ctx.firewall.holdsFirewallState(attachmentKey(body.network, body.containerID, body.ifname))) {
    // What still points at the address (NAT, port forwards) goes first, then lease and ports.
    const lease = ctx.state.lease(body.network, body.containerID, body.ifname);
    const r = await ctx.firewall.teardown([attachmentKey(body.network, body.containerID, body.ifname)], { interfaces: false });
    const failed = r.failures[0];
    if (failed) throw failed.error;
    await ctx.dns.settle();
    if (lease) ctx.metrics.releases.del++;
    const reply: ReleaseResponse = { released: lease ? leaseView(lease, ctx.state.isInRange(lease)) : null };
    return { body: reply };
  }
  const change = ctx.state.release(body.network, body.containerID, body.ifname);
  await ctx.commit(change.records);
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
