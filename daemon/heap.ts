import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { log } from '../src/log/logger';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;
let gcFunction: Gc | undefined;

/** V8's gc(): Node only exposes it with --expose-gc; setting the flag at run time and taking gc from a new context is the documented way around. */
function gcOf(): Gc {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as Gc;
  }
  return gcFunction;
}

/**
 * One full garbage collection after the state has been read. Reading 65,000 leases leaves as
 * much garbage as state in the old generation, and V8 keeps those pages until it next collects
 * it fully, which a quiet daemon may not do for hours: collecting once brings the resident size
 * from ~100 MB to ~80 MB (bench/ipam-scale.bench.ts).
 */
export function collectGarbageOnce(): void {
  try {
    gcOf()();
  } catch (err) {
    log.debug(`full garbage collection after start not possible: ${(err as Error).message}`);
  }
}

/**
 * Two full garbage collections once the API has been quiet for `idleMs` after a request. Between
 * its full collections V8 lets the old generation grow by up to 8 MB of promoted garbage (the
 * heap's minimum allocation-limit step), and a full collection frees the pages it empties only at
 * the next one: over 60 attach/detach cycles the old space went from 5 to 9-12 MB committed with
 * 5 MB live, even after a forced collection (bench/daemon-memory.bench.ts, docs/performance.md).
 * The second collection releases what the first emptied. A runtime's requests for one attach
 * come within milliseconds of each other, so a busy host collects once per quiet moment, never
 * in the middle of a burst; two collections of a heap this size take a few milliseconds.
 */
export class IdleCollector {
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  collections = 0;

  constructor(
    private readonly idleMs: number,
    private readonly collect: () => void = () => {
      const gc = gcOf();
      gc();
      gc();
    },
  ) {}

  /** A request has come: no collection while one is being answered. */
  begin(): void {
    this.inFlight++;
    this.cancel();
  }

  /** A request has been answered: collect when none follows within idleMs. */
  end(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight > 0 || this.idleMs <= 0) return;
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        const started = process.hrtime.bigint();
        this.collect();
        this.collections++;
        log.debug(`idle: full garbage collections in ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)} ms`);
      } catch (err) {
        log.debug(`full garbage collection when idle not possible: ${(err as Error).message}`);
      }
    }, this.idleMs);
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
