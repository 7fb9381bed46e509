/**
 * Group commit: records submitted while a write+fsync is in flight are written together by
 * the next one, so a burst of N concurrent changes costs about two fsyncs, not N. The first
 * submission waits for the end of the current event-loop turn, so requests that arrived
 * together form one batch. Batches are written strictly one after another, in submission order.
 */

export interface BatchWriter {
  /** Writes one batch (records joined) and makes it durable. `batch` numbers the commit. */
  write(data: string, batch: number): Promise<void>;
  /** Runs after a batch is durable and before the next starts (snapshots switch files here). */
  afterBatch?(): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class GroupCommitter {
  private waiters: Waiter[] = [];
  private running = false;
  private failure: Error | undefined;
  private inflight: Promise<void> | undefined;
  /** Number of the next batch. */
  nextBatch: number;

  constructor(
    private readonly writer: BatchWriter,
    firstBatch: number,
    /** Encodes a record for a given batch number. */
    private readonly encode: (record: unknown, batch: number) => string,
  ) {
    this.nextBatch = firstBatch;
  }

  private recordsQueue: unknown[][] = [];

  /** Resolves when the records are durable. */
  submit(records: readonly unknown[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (records.length === 0) return this.barrier();
    return new Promise<void>((resolve, reject) => {
      this.recordsQueue.push(records as unknown[]);
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything submitted before the call is durable. */
  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.recordsQueue.length > 0) {
      return new Promise<void>((resolve, reject) => {
        this.waiters.push({ resolve, reject });
      });
    }
    return this.inflight ?? Promise.resolve();
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  private schedule(): void {
    if (this.running) return;
    this.running = true;
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    while (this.recordsQueue.length > 0 && !this.failure) {
      const batch = this.nextBatch++;
      const groups = this.recordsQueue;
      const waiters = this.waiters;
      this.recordsQueue = [];
      this.waiters = [];
      let data = '';
      for (const g of groups) for (const r of g) data += this.encode(r, batch);
      const done = this.writer.write(data, batch);
      done.catch(() => {}); // rejections reach the waiters below
      this.inflight = done;
      try {
        await done;
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)), waiters);
        break;
      }
      for (const w of waiters) w.resolve();
      if (this.writer.afterBatch) {
        try {
          await this.writer.afterBatch();
        } catch (err) {
          this.fail(err instanceof Error ? err : new Error(String(err)), []);
          break;
        }
      }
    }
    this.inflight = undefined;
    this.running = false;
  }

  private fail(err: Error, waiters: Waiter[]): void {
    this.failure = err;
    for (const w of [...waiters, ...this.waiters]) w.reject(err);
    this.waiters = [];
    this.recordsQueue = [];
  }
}
