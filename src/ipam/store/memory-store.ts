import type { StateRecord } from '../records';
import type { OpenReport, StateStore, StoreStats } from './store';

/** A store that keeps records in memory: for tests of everything above the store. */
export class MemoryStore implements StateStore {
  readonly records: StateRecord[] = [];
  private commits = 0;

  constructor(initial: readonly StateRecord[] = []) {
    this.records.push(...initial);
  }

  async open(apply: (record: StateRecord) => void): Promise<OpenReport> {
    for (const r of this.records) apply(r);
    return { records: this.records.length, warnings: [] };
  }

  async append(records: readonly StateRecord[]): Promise<void> {
    this.records.push(...records);
    this.commits++;
  }

  async barrier(): Promise<void> {}

  async close(): Promise<void> {}

  stats(): StoreStats {
    return { generation: 1, journalRecords: this.records.length, journalBytes: 0, commits: this.commits, recordsWritten: this.records.length, commitSeconds: 0 };
  }
}
