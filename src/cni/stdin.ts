import { readSync } from 'node:fs';
import { CniCode, CniError } from './errors';

/** Largest network configuration accepted on stdin. Real ones are a few kilobytes. */
export const MAX_STDIN_BYTES = 1024 * 1024;

function tooLarge(limit: number): CniError {
  return new CniError(CniCode.DecodingFailure, `network configuration on stdin is larger than ${limit} bytes`, 'a CNI runtime passes one plugin configuration (a few KiB) on stdin');
}

/**
 * Reads stdin with read(2) up to its end, without Node's stream: on a pipe, process.stdin is a
 * net.Socket, whose modules cost a few milliseconds of every start (docs/performance.md). A
 * non-blocking stdin with nothing to read yet (EAGAIN) is left to readStdin: what was read so far
 * comes back with `complete: false`, to be handed to readStdin as its `head`.
 */
export function readStdinSync(limit = MAX_STDIN_BYTES, fd = 0): { data: Buffer; complete: boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(65536);
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') return { data: Buffer.concat(chunks), complete: false };
      if (code === 'EINTR') continue;
      // No stdin at all (closed by the caller) reads as an empty one, as through the stream.
      if (code === 'EBADF') break;
      throw new CniError(CniCode.IoFailure, `error reading the network configuration from stdin: ${(err as Error).message}`);
    }
    if (n === 0) break;
    size += n;
    if (size > limit) throw tooLarge(limit);
    chunks.push(buf.subarray(0, n));
  }
  return { data: Buffer.concat(chunks), complete: true };
}

/** Reads all of stdin (after `head`, what readStdinSync got), refusing more than `limit` bytes. */
export function readStdin(stream: NodeJS.ReadableStream = process.stdin, limit = MAX_STDIN_BYTES, head: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [head];
    let size = head.length;
    const fail = (err: CniError) => {
      stream.removeAllListeners('data');
      stream.removeAllListeners('end');
      if ('destroy' in stream && typeof stream.destroy === 'function') stream.destroy();
      reject(err);
    };
    stream.on('data', (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) {
        fail(tooLarge(limit));
        return;
      }
      chunks.push(buf);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', (err: Error) => reject(new CniError(CniCode.IoFailure, `error reading the network configuration from stdin: ${err.message}`)));
  });
}

/** Decodes stdin as a JSON object (code 6 otherwise). */
export function decodeConfig(data: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `network configuration on stdin is not valid JSON: ${(err as Error).message}`, data.length === 0 ? 'stdin was empty' : '');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CniError(CniCode.DecodingFailure, 'network configuration on stdin must be a JSON object');
  }
  return value as Record<string, unknown>;
}
