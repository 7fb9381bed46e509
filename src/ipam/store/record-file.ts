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

const NEWLINE = 0x0a;
const SPACE = 0x20;

type Line = { ok: true; batch: number; doc: unknown } | { ok: false; why: string };

function checkLine(buf: Buffer, start: number, end: number): Line {
  // [start, end) is the line without its newline.
  if (end - start < 12 || buf[start + 8] !== SPACE) return { ok: false, why: 'no checksum' };
  const want = Number.parseInt(buf.toString('latin1', start, start + 8), 16);
  const rest = buf.subarray(start + 9, end);
  if (!Number.isFinite(want) || crc32(rest) !== want) return { ok: false, why: 'checksum mismatch' };
  const space = rest.indexOf(SPACE);
  const batch = space > 0 ? Number.parseInt(rest.toString('latin1', 0, space), 16) : NaN;
  if (!Number.isInteger(batch)) return { ok: false, why: 'no batch number' };
  try {
    return { ok: true, batch, doc: JSON.parse(rest.toString('utf8', space + 1)) };
  } catch (err) {
    return { ok: false, why: `not JSON: ${(err as Error).message}` };
  }
}

/** Reads the records of a file's contents in order, calling `onDoc` for each valid one before a torn tail. */
export function readRecords(buf: Buffer, file: string, onDoc: (doc: unknown, batch: number) => void): ReadSummary {
  let pos = 0;
  let count = 0;
  let firstBad = -1;
  let firstBadWhy = '';
  let batchBeforeBad = -1;
  let lastBatch = -1;
  const batchesAfterBad: number[] = [];
  while (pos < buf.length) {
    const nl = buf.indexOf(NEWLINE, pos);
    const end = nl < 0 ? buf.length : nl;
    const line: Line = nl < 0 ? { ok: false, why: 'incomplete line' } : checkLine(buf, pos, end);
    if (line.ok) {
      if (line.batch > lastBatch) lastBatch = line.batch;
      if (firstBad < 0) {
        onDoc(line.doc, line.batch);
        count++;
        batchBeforeBad = line.batch;
      } else {
        batchesAfterBad.push(line.batch);
      }
    } else if (firstBad < 0) {
      firstBad = pos;
      firstBadWhy = line.why;
    }
    pos = nl < 0 ? buf.length : nl + 1;
  }
  if (firstBad < 0) return { count, validBytes: buf.length, tornBytes: 0, lastKeptBatch: batchBeforeBad };
  if (batchesAfterBad.length > 0 && (batchesAfterBad.some((b) => b !== lastBatch) || batchBeforeBad < lastBatch - 1)) {
    throw new CorruptFileError(file, firstBad, firstBadWhy);
  }
  return { count, validBytes: firstBad, tornBytes: buf.length - firstBad, lastKeptBatch: batchBeforeBad };
}
