import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AllocateResponse } from '../../../src/ipam/api-types';
import { Sandbox, type DaemonProcess } from '../helpers/sandbox';

/**
 * jailnetd answers a change only after it is on disk: the journal write, then its fdatasync,
 * then the answer on the socket. A kill -9 test cannot show this (the page cache survives a
 * killed process), so the daemon's system calls are watched with strace(1) while a client
 * allocates (issue 10 item 7).
 */

const STRACE = '/usr/bin/strace';

let sb: Sandbox;
let daemon: DaemonProcess;

beforeAll(async () => {
  if (!existsSync(STRACE)) throw new Error(`${STRACE} is missing: run scripts/install-deps.sh (Debian package strace)`);
  sb = new Sandbox('sync');
  daemon = await sb.startDaemon();
});
afterAll(() => sb.cleanup());

/** True when every thread of `pid` is traced (strace -f -p attaches to them one by one). */
function allThreadsTraced(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.length > 0 && tasks.every((t) => /^TracerPid:\s*[1-9]/m.test(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8')));
}

async function traced<T>(pid: number, out: string, fn: () => Promise<T>): Promise<T> {
  const strace: ChildProcess = spawn(STRACE, ['-f', '-qq', '-s', '65536', '-e', 'trace=write,pwrite64,writev,pwritev,pwritev2,sendto,sendmsg,fdatasync,fsync', '-e', 'signal=none', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  strace.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => strace.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 10_000;
    while (!allThreadsTraced(pid)) {
      if (strace.exitCode !== null) throw new Error(`strace exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`strace did not attach to every thread of ${pid} within 10 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return await fn();
  } finally {
    strace.kill('SIGINT');
    await exited;
  }
}

interface Syscall {
  /** Position in the trace of the syscall's entry and of its return. */
  entry: number;
  exit: number;
  name: string;
  fd: number;
  /** The call's arguments as strace printed them (strings escaped). */
  args: string;
  result: string;
}

/**
 * strace -f output as syscalls with entry and return positions: a call interrupted by another
 * thread's is printed as `name(args <unfinished ...>` and later `<... name resumed>rest) = r`.
 */
function parseTrace(text: string): Syscall[] {
  const calls: Syscall[] = [];
  const open = new Map<string, Syscall>();
  text.split('\n').forEach((line, i) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) return;
    const [, pid, rest] = m as unknown as [string, string, string];
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\) += (.*)$/.exec(rest);
    if (resumed) {
      const call = open.get(`${pid}:${resumed[1]}`);
      if (!call) return;
      open.delete(`${pid}:${resumed[1]}`);
      call.exit = i;
      call.args += resumed[2];
      call.result = resumed[3] as string;
      return;
    }
    const unfinished = /^(\w+)\((\d+)(.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      const call: Syscall = { entry: i, exit: -1, name: unfinished[1] as string, fd: Number(unfinished[2]), args: unfinished[3] as string, result: '' };
      open.set(`${pid}:${call.name}`, call);
      calls.push(call);
      return;
    }
    const whole = /^(\w+)\((\d+)(.*)\) += (.*)$/.exec(rest);
    if (whole) calls.push({ entry: i, exit: i, name: whole[1] as string, fd: Number(whole[2]), args: whole[3] as string, result: whole[4] as string });
  });
  return calls;
}

test('an allocation is written to the journal, then fdatasync-ed, then answered', async () => {
  const out = join(sb.dir, 'strace.out');
  const containerID = `sync-probe-${process.pid}`;
  const reply = await traced(daemon.pid, out, () =>
    sb.api<AllocateResponse>('POST', '/v1/allocate', { network: 'sync', containerID, ifname: 'eth0', ranges: [[{ subnet: '10.80.0.0/24' }]] }),
  );
  expect(reply.status).toBe(200);
  const calls = parseTrace(readFileSync(out, 'utf8'));
  const isWrite = (c: Syscall) => /^(write|pwrite64|writev|pwritev2?|sendto|sendmsg)$/.test(c.name);

  const journal = calls.find((c) => isWrite(c) && c.args.includes(containerID) && !c.args.includes('HTTP/1.1'));
  const answer = calls.find((c) => isWrite(c) && c.args.includes('HTTP/1.1 200'));
  if (!journal || !answer) throw new Error(`no journal write or no answer in the trace:\n${calls.map((c) => `${c.name}(${c.fd}) = ${c.result}`).join('\n')}`);
  expect(answer.args).toContain(containerID);
  expect(journal.fd).not.toBe(answer.fd);

  const sync = calls.find((c) => /^(fdatasync|fsync)$/.test(c.name) && c.fd === journal.fd && c.entry > journal.exit);
  expect(sync).toBeDefined();
  expect(sync?.result).toBe('0');
  // write returned, then the sync started; the sync returned, then the answer was written.
  expect(journal.exit).toBeLessThan(sync?.entry ?? -1);
  expect(sync?.exit ?? Infinity).toBeLessThan(answer.entry);
}, 60_000);
