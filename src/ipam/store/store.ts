import type { StateRecord } from '../records';

/**
 * Where jailnetd keeps its state. The daemon applies a change in memory, hands its records to
 * the store and answers only when append() has resolved, i.e. when the records are durable.
 * A store for several hosts (etcd, DESIGN.md "Beyond one host") implements the same interface.
 */
export interface StateStore {
  /** Reads the stored state, calling `apply` for each record in order; then accepts appends. */
  open(apply: (record: StateRecord) => void): Promise<OpenReport>;
  /** Resolves when the records (appended in call order) are durable; rejects when they cannot be made so. */
  append(records: readonly StateRecord[]): Promise<void>;
  /** Resolves when everything appended before the call is durable. */
  barrier(): Promise<void>;
  /** Writes what is pending and releases the store. */
  close(): Promise<void>;
  stats(): StoreStats;
}

export interface OpenReport {
  records: number;
  /** Recoverable problems met while reading (a torn last record, leftover files). */
  warnings: string[];
}

export interface StoreStats {
  generation: number;
  journalRecords: number;
  journalBytes: number;
  commits: number;
  recordsWritten: number;
  /** Sum of the time spent in write+fsync, for the metrics. */
  commitSeconds: number;
  lastSnapshotAt?: number;
}

/** Thrown when the store cannot be used; the daemon stops rather than answer from unsaved state. */
export class StoreFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreFailure';
  }
}
