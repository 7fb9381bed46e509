import type { Handler } from '../context';

/** GET /v1/cluster: each cluster network's membership, blocks, peers and fencing (docs/cluster.md). */
export const clusterStatus: Handler = async (ctx) => ({ body: { networks: ctx.cluster.status() } });
