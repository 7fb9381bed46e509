import { API_PREFIX } from '../src/ipam/api-types';
import { clusterStatus } from './api/cluster';
import * as dns from './api/dns';
import { gc } from './api/gc';
import { hook } from './api/hook';
import * as ingress from './api/ingress';
import * as leases from './api/leases';
import * as nat from './api/nat';
import * as ports from './api/ports';
import { health, metrics, status } from './api/status';
import type { Handler } from './context';

/** Every path of the API, version 1. */
export const ROUTES: Record<string, Partial<Record<'GET' | 'POST', Handler>>> = {
  [`${API_PREFIX}/allocate`]: { POST: leases.allocate },
  [`${API_PREFIX}/release`]: { POST: leases.release },
  [`${API_PREFIX}/check`]: { POST: leases.check },
  [`${API_PREFIX}/leases`]: { GET: leases.list },
  [`${API_PREFIX}/gc`]: { POST: gc },
  [`${API_PREFIX}/ports/reserve`]: { POST: ports.reserve },
  [`${API_PREFIX}/ports/release`]: { POST: ports.release },
  [`${API_PREFIX}/ports`]: { GET: ports.list },
  [`${API_PREFIX}/ports/publish`]: { POST: ports.publish },
  [`${API_PREFIX}/ports/unpublish`]: { POST: ports.unpublish },
  [`${API_PREFIX}/ports/check`]: { POST: ports.check },
  [`${API_PREFIX}/forwards`]: { GET: ports.forwards },
  [`${API_PREFIX}/nat/add`]: { POST: nat.add },
  [`${API_PREFIX}/nat/remove`]: { POST: nat.remove },
  [`${API_PREFIX}/nat/check`]: { POST: nat.check },
  [`${API_PREFIX}/nat`]: { GET: nat.list },
  [`${API_PREFIX}/ingress/add`]: { POST: ingress.add },
  [`${API_PREFIX}/ingress/remove`]: { POST: ingress.remove },
  [`${API_PREFIX}/ingress/check`]: { POST: ingress.check },
  [`${API_PREFIX}/dns/serve`]: { POST: dns.serve },
  [`${API_PREFIX}/dns`]: { GET: dns.status },
  [`${API_PREFIX}/hook`]: { POST: hook },
  [`${API_PREFIX}/cluster`]: { GET: clusterStatus },
  [`${API_PREFIX}/status`]: { GET: status },
  [`${API_PREFIX}/health`]: { GET: health },
  [`${API_PREFIX}/metrics`]: { GET: metrics },
};
