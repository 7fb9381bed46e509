import { writeSync } from 'node:fs';

/**
 * Writes to stdout or stderr with write(2) rather than through process.stdout: on a pipe, Node's
 * stream is a net.Socket, whose modules cost a few milliseconds of every start. If the
 * descriptor is non-blocking and full (EAGAIN), the rest goes through the stream.
 */
export function writeOut(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(fd, buf, off);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(off));
  }
}
