import { CniCode, CniError } from './errors';

/** Largest network configuration accepted on stdin. Real ones are a few kilobytes. */
export const MAX_STDIN_BYTES = 1024 * 1024;

/** Reads all of stdin, refusing more than `limit` bytes. */
export function readStdin(stream: NodeJS.ReadableStream = process.stdin, limit = MAX_STDIN_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
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
        fail(new CniError(CniCode.DecodingFailure, `network configuration on stdin is larger than ${limit} bytes`, 'a CNI runtime passes one plugin configuration (a few KiB) on stdin'));
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
