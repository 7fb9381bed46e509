import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { fdatasync, fsync, open as openCb, close as closeCb, write as writeCb } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isStateRecord, type StateRecord } from '../records';
import { GroupCommitter } from './group-commit';
import { encodeRecord, readRecords } from './record-file';
import { StoreFailure, type OpenReport, type StateStore, type StoreStats } from './store';

/**
 * The state of one host in a directory (default /var/db/jailnet, mode 0700, files 0600):
 *
 *   journal.<generation>   records appended in commit batches, each made durable (fdatasync)
 *                          before the requests in it are answered
 *   snapshot               all records of the state at the start of its generation
 *   snapshot.tmp           a snapshot being written (removed at start)
 *   lock                   the running daemon's PID (state-lock.ts)
 *
 * Reading: the snapshot (if any) says its generation G; then journal.G, journal.G+1, ... are
 * replayed in order. A snapshot is taken when the journal has grown past `compactAfter`
 * records: a new journal G+1 is created (and its directory entry fsynced) between two
 * batches, later batches go there, the state's records are written to snapshot.tmp, fsynced
 * and renamed over snapshot, and only then are the older journals removed. A crash at any
 * point leaves either the old snapshot with every journal since, or the new one with every
 * journal since. Records are idempotent (records.ts), so the snapshot may already contain
 * changes that are still being written to journal G+1.
 */

const writeAsync = promisify(writeCb);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const openAsync = promisify(openCb);
const closeAsync = promisify(closeCb);

export const JOURNAL_FORMAT = 'jailnetd-journal';
export const SNAPSHOT_FORMAT = 'jailnetd-snapshot';
const FORMAT_VERSION = 1;
/** close() takes a snapshot when the journal holds at least this many records. */
const SNAPSHOT_ON_CLOSE_AFTER = 1000;

interface FileHeader {
  format: string;
  version: number;
  generation: number;
  /** Snapshots: how many records follow. */
  records?: number;
  createdAt: number;
}

export interface FileStoreOptions {
  dir: string;
  /** Take a snapshot when the journal holds this many records (default 100,000). */
  compactAfter?: number;
  /** The state as records, for snapshots (IpamState.snapshotRecords). */
  snapshotSource: () => StateRecord[];
  /** Where warnings go (torn tail, failed snapshot). */
  warn: (message: string) => void;
}

function journalName(gen: number): string {
  return `journal.${String(gen).padStart(10, '0')}`;
}

function parseJournalName(name: string): number | undefined {
  const m = /^journal\.(\d{10})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function writeAll(fd: number, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await writeAsync(fd, data, off, data.length - off);
    off += bytesWritten;
  }
}

export class FileStore implements StateStore {
  private readonly dir: string;
  private readonly compactAfter: number;
  private readonly snapshotSource: () => StateRecord[];
  private readonly warn: (m: string) => void;
  private fd = -1;
  private generation = 1;
  private journalRecords = 0;
  private journalBytes = 0;
  private commits = 0;
  private recordsWritten = 0;
  private commitSeconds = 0;
  private lastSnapshotAt: number | undefined;
  private snapshotting: Promise<void> | undefined;
  private committer: GroupCommitter | undefined;
  private closed = false;

  constructor(options: FileStoreOptions) {
    this.dir = options.dir;
    this.compactAfter = options.compactAfter ?? 100_000;
    this.snapshotSource = options.snapshotSource;
    this.warn = options.warn;
  }

  async open(apply: (record: StateRecord) => void): Promise<OpenReport> {
    const warnings: string[] = [];
    prepareDir(this.dir);
    removeIfExists(join(this.dir, 'snapshot.tmp'));
    let records = 0;
    let generation = 1;
    let lastBatch = 0;
    const applyDoc = (doc: unknown, where: string) => {
      if (!isStateRecord(doc)) throw new StoreFailure(`${where}: unknown record ${JSON.stringify(doc).slice(0, 200)}`);
      apply(doc);
      records++;
    };

    const snapshotPath = join(this.dir, 'snapshot');
    const snapshot = readIfExists(snapshotPath);
    if (snapshot) {
      let header: FileHeader | undefined;
      let count = 0;
      const summary = readRecords(snapshot, snapshotPath, (doc) => {
        if (!header) {
          header = checkHeader(doc, SNAPSHOT_FORMAT, snapshotPath);
          return;
        }
        applyDoc(doc, snapshotPath);
        count++;
      });
      if (!header || summary.tornBytes > 0 || count !== header.records) {
        throw new StoreFailure(`${snapshotPath} is incomplete (${count} of ${header?.records ?? '?'} records); snapshots are renamed into place only when complete, so the file was damaged after it was written`);
      }
      generation = header.generation;
      this.lastSnapshotAt = header.createdAt;
    }

    const journals = readdirSync(this.dir)
      .map((f) => parseJournalName(f))
      .filter((g): g is number => g !== undefined)
      .sort((a, b) => a - b);
    for (const g of journals.filter((g) => g < generation)) removeIfExists(join(this.dir, journalName(g)));
    const live = journals.filter((g) => g >= generation);
    if (!snapshot && live.length > 0) generation = live[0] as number;
    if (live.length > 0 && live[0] !== generation) {
      throw new StoreFailure(`${join(this.dir, journalName(generation))} is missing (the snapshot is of generation ${generation}, the first journal is ${live[0]})`);
    }
    for (let n = 0; n < live.length; n++) {
      const g = live[n] as number;
      if (n > 0 && g !== (live[n - 1] as number) + 1) throw new StoreFailure(`${join(this.dir, journalName((live[n - 1] as number) + 1))} is missing between two journals`);
      const path = join(this.dir, journalName(g));
      const buf = readFileSync(path);
      let sawHeader = false;
      let inFile = 0;
      const summary = readRecords(buf, path, (doc) => {
        if (!sawHeader) {
          checkHeader(doc, JOURNAL_FORMAT, path);
          sawHeader = true;
          return;
        }
        applyDoc(doc, path);
        inFile++;
      });
      lastBatch = Math.max(lastBatch, summary.lastKeptBatch);
      if (summary.tornBytes > 0) {
        const msg = `${path}: dropped an incomplete last commit (${summary.tornBytes} bytes at offset ${summary.validBytes}); it was never acknowledged`;
        warnings.push(msg);
        this.warn(msg);
      }
      if (n === live.length - 1) {
        this.generation = g;
        this.journalRecords = inFile;
        this.journalBytes = summary.validBytes;
        this.fd = openSync(path, 'r+');
        if (summary.tornBytes > 0) {
          ftruncateSync(this.fd, summary.validBytes);
          fsyncSync(this.fd);
        }
        closeSync(this.fd);
        this.fd = openSync(path, 'a', 0o600);
        if (!sawHeader) this.writeHeaderSync(g, lastBatch);
      }
    }
    if (live.length === 0) {
      this.generation = generation;
      this.createJournalSync(generation, lastBatch);
    }
    this.committer = new GroupCommitter(
      { write: (data, batch) => this.writeBatch(data, batch), afterBatch: () => this.maybeCompact() },
      lastBatch + 1,
      encodeRecord,
    );
    return { records, warnings };
  }

  append(records: readonly StateRecord[]): Promise<void> {
    if (!this.committer || this.closed) return Promise.reject(new StoreFailure('the state store is not open'));
    return this.committer.submit(records);
  }

  barrier(): Promise<void> {
    if (!this.committer) return Promise.resolve();
    return this.committer.barrier();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.barrier();
      await this.snapshotting;
      // A long journal is folded into a snapshot on the way out, so that the next start reads
      // the state as it is rather than its history.
      if (this.journalRecords >= SNAPSHOT_ON_CLOSE_AFTER && !this.committer?.failed) await this.compact();
      await this.snapshotting;
    } finally {
      this.closed = true;
      if (this.fd >= 0) await closeAsync(this.fd).catch(() => {});
      this.fd = -1;
    }
  }

  stats(): StoreStats {
    const s: StoreStats = {
      generation: this.generation,
      journalRecords: this.journalRecords,
      journalBytes: this.journalBytes,
      commits: this.commits,
      recordsWritten: this.recordsWritten,
      commitSeconds: this.commitSeconds,
    };
    if (this.lastSnapshotAt !== undefined) s.lastSnapshotAt = this.lastSnapshotAt;
    return s;
  }

  /** Takes a snapshot now (at the next batch boundary when called while one is in flight). */
  async compactNow(): Promise<void> {
    await this.barrier();
    await this.compact();
    await this.snapshotting;
  }

  private async writeBatch(data: string, _batch: number): Promise<void> {
    const started = process.hrtime.bigint();
    const buf = Buffer.from(data, 'utf8');
    await writeAll(this.fd, buf);
    await fdatasyncAsync(this.fd);
    let lines = 0;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
    this.journalRecords += lines;
    this.journalBytes += buf.length;
    this.recordsWritten += lines;
    this.commits++;
    this.commitSeconds += Number(process.hrtime.bigint() - started) / 1e9;
  }

  private async maybeCompact(): Promise<void> {
    if (this.journalRecords >= this.compactAfter && !this.snapshotting) await this.compact();
  }

  /** Switches to a new journal and writes the snapshot in the background. Call between batches only. */
  private async compact(): Promise<void> {
    if (this.snapshotting || this.closed) return;
    const next = this.generation + 1;
    const records = this.snapshotSource();
    const lastBatch = (this.committer?.nextBatch ?? 1) - 1;
    const oldFd = this.fd;
    try {
      this.fd = -1;
      this.createJournalSync(next, lastBatch);
    } catch (err) {
      this.fd = oldFd;
      this.warn(`could not start journal generation ${next}, keeping ${journalName(this.generation)}: ${(err as Error).message}`);
      return;
    }
    this.generation = next;
    this.journalRecords = 0;
    await closeAsync(oldFd).catch(() => {});
    this.snapshotting = this.writeSnapshot(next, records)
      .catch((err: Error) => this.warn(`snapshot of generation ${next} failed (the journals keep the state): ${err.message}`))
      .finally(() => {
        this.snapshotting = undefined;
      });
  }

  private async writeSnapshot(generation: number, records: StateRecord[]): Promise<void> {
    const header: FileHeader = { format: SNAPSHOT_FORMAT, version: FORMAT_VERSION, generation, records: records.length, createdAt: Date.now() };
    const chunks: string[] = [encodeRecord(header, 0)];
    for (const r of records) chunks.push(encodeRecord(r, 0));
    const tmp = join(this.dir, 'snapshot.tmp');
    const fd = await openAsync(tmp, 'w', 0o600);
    try {
      await writeAll(fd, Buffer.from(chunks.join(''), 'utf8'));
      await fsyncAsync(fd);
    } finally {
      await closeAsync(fd);
    }
    renameSync(tmp, join(this.dir, 'snapshot'));
    fsyncDir(this.dir);
    this.lastSnapshotAt = header.createdAt;
    for (const f of readdirSync(this.dir)) {
      const g = parseJournalName(f);
      if (g !== undefined && g < generation) removeIfExists(join(this.dir, f));
    }
  }

  private createJournalSync(generation: number, lastBatch: number): void {
    const path = join(this.dir, journalName(generation));
    this.fd = openSync(path, 'wx', 0o600);
    this.journalBytes = 0;
    this.writeHeaderSync(generation, lastBatch);
    fsyncDir(this.dir);
  }

  /** The first line of a journal; its batch number is the one before the file's first commit. */
  private writeHeaderSync(generation: number, lastBatch: number): void {
    const header: FileHeader = { format: JOURNAL_FORMAT, version: FORMAT_VERSION, generation, createdAt: Date.now() };
    const line = Buffer.from(encodeRecord(header, Math.max(0, lastBatch)), 'utf8');
    writeSync(this.fd, line);
    fsyncSync(this.fd);
    this.journalBytes += line.length;
  }
}

function checkHeader(doc: unknown, format: string, path: string): FileHeader {
  const h = doc as Partial<FileHeader> | null;
  if (!h || h.format !== format || typeof h.generation !== 'number') throw new StoreFailure(`${path} does not start with a ${format} header`);
  if (h.version !== FORMAT_VERSION) throw new StoreFailure(`${path} has format version ${String(h.version)}; this jailnetd reads version ${FORMAT_VERSION}`);
  return h as FileHeader;
}

function prepareDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new StoreFailure(`${dir} is not a directory`);
  // Not chmod-ed: the path may come from a network file, and jailnetd changes no directory it did not make (docs/security.md).
  if ((st.mode & 0o077) !== 0) throw new StoreFailure(`${dir} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); jailnetd's state directory is for root only: chmod 700 it if it is jailnetd's`);
}

function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function removeIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
