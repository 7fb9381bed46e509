import type { NetworkStatus, StatusResponse } from '../../src/ipam/api-types';
import type { NetworkPool } from '../../src/ipam/network-pool';
import { countOf, leaseView } from '../../src/ipam/views';
import type { Handler } from '../context';

/** GET /v1/status[?network=N], GET /v1/health, GET /v1/metrics. */

function networkStatus(pool: NetworkPool): NetworkStatus {
  const s: NetworkStatus = {
    name: pool.name,
    rangeSets: pool.sets.map((set, i) => {
      const out: NetworkStatus['rangeSets'][number] = {
        family: set.family,
        ranges: pool.rangesConfig[i] ?? [],
        capacity: countOf(set.capacity),
        held: countOf(set.held),
        free: countOf(set.freeCount),
      };
      const cursor = set.cursorAddress;
      if (cursor) out.cursor = cursor;
      return out;
    }),
    leases: pool.leases.size,
    attachmentsLeft: countOf(pool.attachmentsLeft),
    outOfRange: pool.outOfRangeLeases().map((l) => leaseView(l, false)),
  };
  if (pool.configChangedAt !== undefined) s.configChangedAt = new Date(pool.configChangedAt).toISOString();
  return s;
}

export const status: Handler = async (ctx, req) => {
  await ctx.commit([]);
  const only = req.query.get('network');
  const pools = [...ctx.state.networks.values()].filter((p) => !only || p.name === only);
  const store = ctx.store.stats();
  const reclaim = ctx.reclaimStatus();
  const reply: StatusResponse = {
    version: ctx.version,
    pid: process.pid,
    startedAt: new Date(ctx.startedAt).toISOString(),
    socket: ctx.config.socket,
    stateDir: ctx.config.stateDir,
    leases: ctx.state.leaseCount,
    portReservations: ctx.state.ports.reservations.size,
    networks: pools.map(networkStatus),
    store: { generation: store.generation, journalRecords: store.journalRecords, journalBytes: store.journalBytes, commits: store.commits },
    reclaim: {
      intervalSeconds: ctx.config.reclaim.intervalSeconds,
      graceSeconds: ctx.config.reclaim.graceSeconds,
      missing: reclaim.missing.map((m) => ({ jail: m.jail, since: new Date(m.since).toISOString(), attachments: m.attachments })),
    },
  };
  if (store.lastSnapshotAt !== undefined) reply.store.lastSnapshotAt = new Date(store.lastSnapshotAt).toISOString();
  if (reclaim.lastRunAt !== undefined) reply.reclaim.lastRunAt = new Date(reclaim.lastRunAt).toISOString();
  if (reclaim.lastError !== undefined) reply.reclaim.lastError = reclaim.lastError;
  return { body: reply };
};

export const health: Handler = async (ctx) => {
  await ctx.commit([]);
  return { body: { status: 'ok', version: ctx.version, leases: ctx.state.leaseCount, uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000) } };
};

export const metrics: Handler = async (ctx) => ({
  body: ctx.metrics.render(ctx.state, ctx.store.stats(), ctx.firewall.proxy.size, { outcomes: ctx.dns.outcomes, listening: ctx.dns.listening }),
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
});
