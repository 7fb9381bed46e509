import { crc32 } from 'node:zlib';

/**
 * The line format of journal and snapshot files: one JSON document per line, preceded by the
 * CRC-32 of the rest of the line in 8 hex digits and the number of the commit batch it was
 * written in:
 *
 *   1a2b3c4d 2f {"t":"lease","n":"podman",...}\n
 *
 * A record counts only when its line is complete and its checksum matches. The batch number
 * tells a crash from damage: only the batch being written when the daemon died can be
 * incomplete (every earlier batch was fsynced before it was acknowledged), and it is the tail
 * of the file; its records may survive with holes between them, since the file system may
 * have written its blocks in any order. So an invalid line followed only by records of the
 * newest batch is a torn tail, dropped with a warning; an invalid line followed by records of
 * an older batch means acknowledged data was damaged, and reading stops with an error. Each
 * file starts with a header line (written and fsynced when the file is created) whose batch
 * number is the one before the file's first commit, so damage at the start is caught too.
 */

export function encodeRecord(doc: unknown, batch: number): string {
  const rest = `${batch.toString(16)} ${JSON.stringify(doc)}`;
  return `${crc32(rest).toString(16).padStart(8, '0')} ${rest}\n`;
}

export class CorruptFileError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    why: string,
  ) {
    super(`${file}: invalid record at byte ${offset} (${why}) followed by records of earlier commits; the file is damaged`);
    this.name = 'CorruptFileError';
  }
}

export interface ReadSummary {
  count: number;
  /** Byte length of the valid prefix; the file is cut there before appending. */
  validBytes: number;
  /** Bytes after the valid prefix (a torn tail), 0 when none. */
  tornBytes: number;
  /** Batch number of the last record kept, -1 when none: appending continues after it. */
  lastKeptBatch: number;
}

/** A line whose checksum and batch number are good; its JSON is parsed later, in chunks. */
type Line = { ok: true; batch: number; json: string } | { ok: false; why: string };

function checkLine(line: string): Line {
  if (line.length < 12 || line.charCodeAt(8) !== 32) return { ok: false, why: 'no checksum' };
  const want = Number.parseInt(line.slice(0, 8), 16);
  const rest = line.slice(9);
  if (!Number.isFinite(want) || crc32(rest) !== want) return { ok: false, why: 'checksum mismatch' };
  const space = rest.indexOf(' ');
  const batch = space > 0 ? Number.parseInt(rest.slice(0, space), 16) : NaN;
  if (!Number.isInteger(batch)) return { ok: false, why: 'no batch number' };
  return { ok: true, batch, json: rest.slice(space + 1) };
}

const CHUNK = 1000;

/**
 * Reads the records of a file's contents in order, calling `onDoc` for each valid one before a
 * torn tail. The file is decoded once and cut into lines as a string (checksums are over the
 * UTF-8 bytes, which zlib.crc32 computes from the string), and checked lines are parsed a
 * thousand at a time as one JSON array: reading 65,000 records is then mostly building the state.
 */
export function readRecords(buf: Buffer, file: string, onDoc: (doc: unknown, batch: number) => void): ReadSummary {
  const text = buf.toString('utf8');
  let pos = 0;
  let count = 0;
  let firstBad = -1;
  let firstBadWhy = '';
  let batchBeforeBad = -1;
  let lastBatch = -1;
  const batchesAfterBad: number[] = [];
  let jsons: string[] = [];
  let batches: number[] = [];
  const flush = () => {
    if (jsons.length === 0) return;
    let docs: unknown[];
    try {
      docs = JSON.parse(`[${jsons.join(',')}]`) as unknown[];
    } catch {
      // A line with a good checksum that is not JSON: find it, for the message.
      docs = jsons.map((j, n) => {
        try {
          return JSON.parse(j) as unknown;
        } catch (err) {
          throw new CorruptFileError(file, -1, `record ${count + n + 1} has a good checksum but is not JSON: ${(err as Error).message}`);
        }
      });
    }
    for (let n = 0; n < docs.length; n++) onDoc(docs[n], batches[n] as number);
    count += docs.length;
    jsons = [];
    batches = [];
  };
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const line: Line = nl < 0 ? { ok: false, why: 'incomplete line' } : checkLine(text.slice(pos, nl));
    if (line.ok) {
      if (line.batch > lastBatch) lastBatch = line.batch;
      if (firstBad < 0) {
        jsons.push(line.json);
        batches.push(line.batch);
        if (jsons.length === CHUNK) flush();
        batchBeforeBad = line.batch;
      } else {
        batchesAfterBad.push(line.batch);
      }
    } else if (firstBad < 0) {
      firstBad = pos;
      firstBadWhy = line.why;
    }
    pos = nl < 0 ? text.length : nl + 1;
  }
  if (firstBad < 0) {
    flush();
    return { count, validBytes: buf.length, tornBytes: 0, lastKeptBatch: batchBeforeBad };
  }
  // The valid prefix is whole lines of valid UTF-8, so its length in bytes is exact.
  const validBytes = Buffer.byteLength(text.slice(0, firstBad), 'utf8');
  if (batchesAfterBad.length > 0 && (batchesAfterBad.some((b) => b !== lastBatch) || batchBeforeBad < lastBatch - 1)) {
    throw new CorruptFileError(file, validBytes, firstBadWhy);
  }
  flush();
  return { count, validBytes, tornBytes: buf.length - validBytes, lastKeptBatch: batchBeforeBad };
}
