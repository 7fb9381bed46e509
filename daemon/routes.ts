import { API_PREFIX } from '../src/ipam/api-types';
import { gc } from './api/gc';
import * as leases from './api/leases';
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
  [`${API_PREFIX}/status`]: { GET: status },
  [`${API_PREFIX}/health`]: { GET: health },
  [`${API_PREFIX}/metrics`]: { GET: metrics },
};
