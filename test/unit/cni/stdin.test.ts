import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError } from '../../../src/cni/errors';
import { readStdin, readStdinSync } from '../../../src/cni/stdin';

// stdin read with read(2) first (readStdinSync), the stream only for what that could not read.

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jailnet-stdin-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('reads a descriptor to its end, however many reads that takes', () => {
  const file = join(dir, 'big');
  const text = 'x'.repeat(200_000);
  writeFileSync(file, text);
  const fd = openSync(file, 'r');
  try {
    const r = readStdinSync(1024 * 1024, fd);
    expect(r.complete).toBe(true);
    expect(r.data.toString()).toBe(text);
  } finally {
    closeSync(fd);
  }
});

test('refuses more than the limit with code 6; an empty descriptor is an empty stdin', () => {
  const file = join(dir, 'limit');
  writeFileSync(file, 'y'.repeat(5000));
  const fd = openSync(file, 'r');
  try {
    expect(() => readStdinSync(4096, fd)).toThrow(expect.objectContaining({ code: 6, message: expect.stringContaining('larger than 4096 bytes') }) as CniError);
  } finally {
    closeSync(fd);
  }
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  const fd2 = openSync(empty, 'r');
  try {
    expect(readStdinSync(4096, fd2)).toEqual({ data: Buffer.alloc(0), complete: true });
  } finally {
    closeSync(fd2);
  }
  expect(readFileSync(empty, 'utf8')).toBe('');
});

describe('a non-blocking stdin (EAGAIN)', () => {
  let fifo: string;
  let readFd: number;
  let writeFd: number;
  beforeEach(() => {
    fifo = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
    execFileSync('/usr/bin/mkfifo', [fifo]);
    // As a runtime may hand it over: the read end non-blocking, a writer still there.
    readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    writeFd = openSync(fifo, 'w');
  });
  afterEach(() => {
    for (const fd of [readFd, writeFd]) {
      try {
        closeSync(fd);
      } catch {
        /* closed by the test's stream */
      }
    }
  });

  test('hands what it read to the stream, which reads the rest', async () => {
    expect(readStdinSync(1024, readFd)).toEqual({ data: Buffer.alloc(0), complete: false });
    writeSync(writeFd, '{"cniVersion":');
    const early = readStdinSync(1024, readFd);
    expect(early).toEqual({ data: Buffer.from('{"cniVersion":'), complete: false });
    // What process.stdin is for a pipe: a net.Socket on the descriptor.
    const stream = new Socket({ fd: readFd, readable: true, writable: false });
    const rest = readStdin(stream, 1024, early.data);
    writeSync(writeFd, '"1.1.0"}');
    closeSync(writeFd);
    expect((await rest).toString()).toBe('{"cniVersion":"1.1.0"}');
    stream.destroy();
  });

  test('the limit counts what was read before the stream', async () => {
    writeSync(writeFd, 'z'.repeat(600));
    const early = readStdinSync(1024, readFd);
    expect(early.data.length).toBe(600);
    const stream = new Socket({ fd: readFd, readable: true, writable: false });
    const rest = readStdin(stream, 1024, early.data);
    writeSync(writeFd, 'z'.repeat(600));
    await expect(rest).rejects.toMatchObject({ code: 6 });
    stream.destroy();
  });
});
