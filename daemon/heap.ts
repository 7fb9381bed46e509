import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { log } from '../src/log/logger';

/**
 * One full garbage collection after the state has been read. Reading 65,000 leases leaves as
 * much garbage as state in the old generation, and V8 keeps those pages until it next collects
 * it fully, which a quiet daemon may not do for hours: collecting once brings the resident size
 * from ~100 MB to ~80 MB (bench/ipam-scale.bench.ts). Node only exposes gc() with --expose-gc;
 * setting the flag at run time and taking gc from a new context is the documented way around.
 */
export function collectGarbageOnce(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch (err) {
    log.debug(`full garbage collection after start not possible: ${(err as Error).message}`);
  }
}
