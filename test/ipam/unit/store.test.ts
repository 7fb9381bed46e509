import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StateRecord } from '../../../src/ipam/records';
import { FileStore } from '../../../src/ipam/store/file-store';
import { GroupCommitter } from '../../../src/ipam/store/group-commit';
import { CorruptFileError, encodeRecord, readRecords } from '../../../src/ipam/store/record-file';
import { acquireStateLock, LockHeldError } from '../../../src/ipam/store/state-lock';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'jailnet-store-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const lease = (c: string, a: string): StateRecord => ['L', 'net', c, 'eth0', 0, [[a, 24, '10.0.0.1', 0]], 1];
const cid = (r: StateRecord) => (r as unknown[])[2] as string;

describe('record files', () => {
  const lines = (batches: number[]) => Buffer.from(batches.map((b, i) => encodeRecord({ n: i }, b)).join(''));

  test('reads every complete record', () => {
    const seen: unknown[] = [];
    const r = readRecords(lines([0, 1, 1, 2]), 'f', (d) => seen.push(d));
    expect(seen).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
    expect(r).toMatchObject({ count: 4, tornBytes: 0, lastKeptBatch: 2 });
  });

  test('an incomplete last line is a torn tail', () => {
    const buf = lines([0, 1, 2]);
    const cut = buf.subarray(0, buf.length - 7);
    const r = readRecords(cut, 'f', () => {});
    expect(r.count).toBe(2);
    expect(r.tornBytes).toBeGreaterThan(0);
    expect(r.validBytes + r.tornBytes).toBe(cut.length);
    expect(r.lastKeptBatch).toBe(1);
  });

  test('holes inside the newest batch are a torn tail; later records of it are dropped', () => {
    const good = lines([0, 1, 2, 2]);
    const recs = good.toString().split('\n');
    recs[2] = '\0'.repeat(recs[2]!.length);
    const r = readRecords(Buffer.from(recs.join('\n')), 'f', () => {});
    expect(r.count).toBe(2);
    expect(r.lastKeptBatch).toBe(1);
  });

  test('damage followed by an older batch is corruption, not a crash', () => {
    const recs = lines([0, 1, 2, 3]).toString().split('\n');
    recs[1] = `x${recs[1]!.slice(1)}`;
    expect(() => readRecords(Buffer.from(recs.join('\n')), 'f', () => {})).toThrow(CorruptFileError);
  });

  test('a whole lost acknowledged batch before the newest one is corruption', () => {
    const recs = lines([0, 1, 2, 3]).toString().split('\n');
    recs[2] = 'garbage';
    expect(() => readRecords(Buffer.from(recs.join('\n')), 'f', () => {})).toThrow(/byte \d+ \(no checksum\)/);
  });
});

describe('group commit', () => {
  test('submissions during a write go into one next batch, in order', async () => {
    const batches: string[][] = [];
    let release: () => void = () => {};
    const gc = new GroupCommitter(
      {
        write: async (data) => {
          batches.push(data.trim().split('\n'));
          if (batches.length === 1) await new Promise<void>((r) => (release = r));
        },
      },
      1,
      (r) => `${String(r)}\n`,
    );
    const first = gc.submit(['a']);
    await new Promise((r) => setImmediate(r));
    const rest = Promise.all([gc.submit(['b', 'c']), gc.submit(['d']), gc.barrier()]);
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([['a']]);
    release();
    await first;
    await rest;
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(gc.nextBatch).toBe(3);
  });

  test('a failed write rejects its waiters and everything after', async () => {
    const gc = new GroupCommitter({ write: async () => Promise.reject(new Error('EIO')) }, 1, (r) => `${String(r)}\n`);
    await expect(gc.submit(['a'])).rejects.toThrow('EIO');
    await expect(gc.submit(['b'])).rejects.toThrow('EIO');
  });
});

describe('file store', () => {
  async function openStore(dir: string, opts: { compactAfter?: number; source?: () => StateRecord[] } = {}) {
    const applied: StateRecord[] = [];
    const warnings: string[] = [];
    const store = new FileStore({ dir, compactAfter: opts.compactAfter, snapshotSource: opts.source ?? (() => []), warn: (m) => warnings.push(m) });
    const report = await store.open((r) => applied.push(r));
    return { store, applied, warnings, report };
  }

  test('appended records come back after reopening; files are 0600 in a 0700 directory', async () => {
    const dir = join(tempDir(), 'state');
    const { store } = await openStore(dir);
    await Promise.all([store.append([lease('a', '10.0.0.2')]), store.append([lease('b', '10.0.0.3'), { t: 'unlease', k: 'net/a/eth0' }])]);
    await store.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const again = await openStore(dir);
    expect(again.applied).toEqual([lease('a', '10.0.0.2'), lease('b', '10.0.0.3'), { t: 'unlease', k: 'net/a/eth0' }]);
    expect(again.warnings).toEqual([]);
    await again.store.close();
  });

  test('a torn last record is dropped with a warning and the journal is cut before appending', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await store.append([lease('a', '10.0.0.2')]);
    await store.close();
    const journal = join(dir, readdirSync(dir).find((f) => f.startsWith('journal.'))!);
    appendFileSync(journal, encodeRecord(lease('b', '10.0.0.3'), 99).slice(0, 30));
    const second = await openStore(dir);
    expect(second.applied).toEqual([lease('a', '10.0.0.2')]);
    expect(second.warnings.join()).toMatch(/dropped an incomplete last commit \(30 bytes/);
    await second.store.append([lease('c', '10.0.0.4')]);
    await second.store.close();
    const third = await openStore(dir);
    expect(third.applied.map((r) => cid(r))).toEqual(['a', 'c']);
    expect(third.warnings).toEqual([]);
    await third.store.close();
  });

  test('refuses to start on damaged acknowledged data', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await store.append([lease('a', '10.0.0.2')]);
    await store.append([lease('b', '10.0.0.3')]);
    await store.close();
    const journal = join(dir, readdirSync(dir).find((f) => f.startsWith('journal.'))!);
    const text = readFileSync(journal, 'utf8').split('\n');
    text[1] = text[1]!.replace('10.0.0.2', '10.0.0.9');
    writeFileSync(journal, text.join('\n'));
    await expect(openStore(dir)).rejects.toThrow(/is damaged/);
  });

  test('snapshots replace old journals; state is the same after reopening', async () => {
    const dir = tempDir();
    const all: StateRecord[] = [];
    const { store } = await openStore(dir, { compactAfter: 10, source: () => all.filter((r) => Array.isArray(r)) });
    for (let i = 0; i < 35; i++) {
      const r = lease(`c${i}`, `10.0.0.${i + 2}`);
      all.push(r);
      await store.append([r]);
    }
    await store.close();
    const files = readdirSync(dir).sort();
    expect(files).toContain('snapshot');
    expect(files.filter((f) => f.startsWith('journal.'))).toHaveLength(1);
    const again = await openStore(dir);
    // Snapshot records may repeat journal records (idempotent); the set of leases is what counts.
    expect(new Set(again.applied.map((r) => cid(r)))).toEqual(new Set(all.map((r) => cid(r))));
    expect(again.store.stats().generation).toBeGreaterThanOrEqual(3);
    await again.store.close();
  });

  test('a crash between a new journal and its snapshot replays the older journals', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await store.append([lease('a', '10.0.0.2')]);
    await store.close();
    // What a crash right after creating journal 2 leaves: journal 1 complete, journal 2 with a header only.
    writeFileSync(join(dir, 'journal.0000000002'), encodeRecord({ format: 'jailnetd-journal', version: 1, generation: 2, createdAt: 0 }, 1), { mode: 0o600 });
    writeFileSync(join(dir, 'snapshot.tmp'), 'half a snapshot');
    const again = await openStore(dir);
    expect(again.applied).toEqual([lease('a', '10.0.0.2')]);
    await again.store.append([lease('b', '10.0.0.3')]);
    await again.store.close();
    expect(readdirSync(dir)).not.toContain('snapshot.tmp');
    const third = await openStore(dir);
    expect(third.applied.map((r) => cid(r))).toEqual(['a', 'b']);
    await third.store.close();
  });

  test('an empty journal (crash while writing its header) is recovered', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await store.close();
    const journal = join(dir, readdirSync(dir).find((f) => f.startsWith('journal.'))!);
    truncateSync(journal, 5);
    const again = await openStore(dir);
    await again.store.append([lease('a', '10.0.0.2')]);
    await again.store.close();
    expect((await openStore(dir)).applied).toEqual([lease('a', '10.0.0.2')]);
  });
});

describe('state directory lock', () => {
  test('one holder at a time; a lock of a dead process is taken over', async () => {
    const dir = tempDir();
    const lock = await acquireStateLock(dir);
    writeFileSync(lock.path, '1\n');
    await expect(acquireStateLock(dir)).rejects.toBeInstanceOf(LockHeldError);
    writeFileSync(lock.path, '999999999\n');
    const second = await acquireStateLock(dir);
    expect(readFileSync(second.path, 'utf8')).toMatch(new RegExp(`^${process.pid} linux:[0-9a-f-]+:\\d+\n$`));
    second.release();
    expect(readdirSync(dir)).toEqual([]);
  });
});
