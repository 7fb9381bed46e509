import type * as ChildProcess from 'node:child_process';
import type * as Fs from 'node:fs';
import { isAbsolute } from 'node:path';
import { CniCode } from '../cni/errors';

/**
 * The one place in jailnet that starts a process: spawn with an absolute path and an argv
 * array, never a shell, always with a timeout, the output captured in scratch files
 * (scratchRunner). Errors carry the command line, exit status and stderr.
 */

export interface ExecOptions {
  /** The child's stdin (from a scratch file); /dev/null when absent. */
  input?: string;
  timeoutMs?: number;
  /** Full environment of the child; COMMAND_ENV when absent (never the caller's environment). */
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/**
 * The whole environment of every FreeBSD command. Nothing of the caller's environment reaches a
 * command: IFCONFIG_FORMAT=addr:host makes ifconfig print host names where the parsers read
 * addresses, LANG/LC_* change messages and dates, and a runtime's variables are none of a
 * command's business. The emulated tools' wrapper scripts add what they need themselves.
 */
export const COMMAND_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/sbin:/bin:/usr/sbin:/usr/bin', LANG: 'C', LC_ALL: 'C' });

/** Default timeout of a command; JAILNET_COMMAND_TIMEOUT (seconds) overrides it, e.g. on a loaded host. */
export const DEFAULT_TIMEOUT_MS = 30_000;
export const COMMAND_TIMEOUT_ENV = 'JAILNET_COMMAND_TIMEOUT';

function defaultTimeout(): number {
  const s = Number(process.env[COMMAND_TIMEOUT_ENV]);
  return Number.isFinite(s) && s > 0 ? s * 1000 : DEFAULT_TIMEOUT_MS;
}
const MAX_OUTPUT = 16 * 1024 * 1024;

export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly cniCode: number = CniCode.HostCommandFailed;

  constructor(argv: readonly string[], exitCode: number | null, signal: string | null, stdout: string, stderr: string, timedOut: boolean, cause?: string) {
    const how = timedOut ? 'timed out' : cause ?? (exitCode !== null ? `exited with status ${exitCode}` : `was killed by ${signal ?? 'a signal'}`);
    const firstLine = stderr.trim().split('\n').filter(Boolean).pop();
    super(`command \`${formatCommand(argv)}\` ${how}${firstLine ? `: ${firstLine}` : ''}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stdout = stdout;
    this.stderr = stderr;
    this.timedOut = timedOut;
  }

  /** Full stderr, for the details of a CNI error. */
  get details(): string {
    return this.stderr.trim();
  }
}

/** A readable command line for messages (quotes words that need it; nothing is ever run through a shell). */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export type CommandRunner = (file: string, args: readonly string[], options: ExecOptions) => Promise<ExecResult>;

/** node:child_process, loaded on the first command: VERSION and refusals never need it (~10 ms at start-up). */
let childProcess: typeof ChildProcess | undefined;
export function loadChildProcess(): typeof ChildProcess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (childProcess ??= require('node:child_process') as typeof ChildProcess);
}

let fsModule: typeof Fs | undefined;
function loadFs(): typeof Fs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (fsModule ??= require('node:fs') as typeof Fs);
}

/**
 * A scratch file for a child's stdout, stderr or input: created with O_EXCL and mode 0600 in the
 * first of `dirs` where that works, and unlinked at once, so only this process and the child it
 * is handed to ever hold it. Its descriptor is close-on-exec here (libuv opens every file so):
 * a command started meanwhile by another request does not inherit it.
 */
function scratchFile(fs: typeof Fs, dirs: readonly string[]): number {
  let failure: unknown;
  for (const dir of dirs) {
    for (let attempt = 0; attempt < 8; attempt++) {
      // dir is absolute without a trailing slash (scratchDirs): a plain concatenation, not join().
      const path = `${dir === '/' ? '' : dir}/.jailnet-cmd-${process.pid}-${(scratchSeq = (scratchSeq + 1) % 0x7fffffff)}-${Math.random().toString(36).slice(2, 10)}`;
      let fd: number;
      try {
        fd = fs.openSync(path, 'wx+', 0o600);
      } catch (err) {
        failure = err;
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        break;
      }
      try {
        fs.unlinkSync(path);
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
      return fd;
    }
  }
  throw failure;
}
let scratchSeq = 0;

/** Where scratch files go: TMPDIR when it is an absolute path, then /tmp (os.tmpdir()'s default on FreeBSD). */
function scratchDirs(): string[] {
  const env = process.env.TMPDIR;
  const dir = env && isAbsolute(env) ? env.replace(/(.)\/+$/, '$1') : undefined;
  return dir && dir !== '/tmp' ? [dir, '/tmp'] : ['/tmp'];
}

/** The whole of a scratch file, read at its start (the child's writes moved the shared offset, not the content). */
function readScratch(fs: typeof Fs, fd: number): { text: string; tooLong: boolean } {
  const size = fs.fstatSync(fd).size;
  const length = Math.min(size, MAX_OUTPUT);
  const buf = Buffer.allocUnsafe(length);
  let at = 0;
  while (at < length) {
    const n = fs.readSync(fd, buf, at, length - at, at);
    if (n === 0) break;
    at += n;
  }
  return { text: buf.toString('utf8', 0, at), tooLong: size > MAX_OUTPUT };
}

/**
 * spawn (what execFile wraps: an argv array, never a shell) with the child's stdout and stderr
 * going to scratch files rather than pipes, read back when it exits, and its input, when there
 * is one, from a third. A pipe costs this process a socketpair, a stream object with its buffers
 * and events, and their teardown: about 0.4 ms of CPU per command, most of what starting one
 * costs besides fork itself (docs/performance.md), paid ~20 times per attach+detach by jailnetd.
 * Read at exit, the output of a process the command left behind holding the files is not waited
 * for (a pipe would wait for it). Without input, stdin is /dev/null (end of file at once, as the
 * closed empty pipe was).
 */
const scratchRunner: CommandRunner = (file, args, options) =>
  new Promise((resolve, reject) => {
    const fs = loadFs();
    const argv = [file, ...args];
    const fds: number[] = [];
    const closeAll = () => {
      for (const fd of fds.splice(0)) {
        try {
          fs.closeSync(fd);
        } catch {
          /* closed already */
        }
      }
    };
    let out: number, err: number, input: number | 'ignore';
    const dirs = scratchDirs();
    try {
      fds.push((out = scratchFile(fs, dirs)), (err = scratchFile(fs, dirs)));
      input = 'ignore';
      if (options.input) {
        const data = Buffer.from(options.input, 'utf8');
        fds.push((input = scratchFile(fs, dirs)));
        // At position 0 and without moving the descriptor's offset, which the child starts reading at.
        for (let at = 0; at < data.length; ) at += fs.writeSync(input, data, at, data.length - at, at);
      }
    } catch (e) {
      closeAll();
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      reject(new CommandError(argv, null, null, '', '', false, `could not be started (no scratch file for its output in ${dirs.join(' or ')}: ${code}; TMPDIR, else /tmp, must be a directory this user can create files in)`));
      return;
    }
    let settled = false;
    let timedOut = false;
    let child: ChildProcess.ChildProcess;
    try {
      child = loadChildProcess().spawn(file, args as string[], { env: options.env ?? COMMAND_ENV, stdio: [input, out, err] });
    } catch (e) {
      closeAll();
      reject(new CommandError(argv, null, null, '', '', false, `could not be started (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`));
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? defaultTimeout());
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      closeAll();
      // Spawn failure (ENOENT, EACCES...): the program itself is missing or not executable.
      reject(new CommandError(argv, null, null, '', '', false, `could not be started (${e.code ?? e.message})`));
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      let stdout: ReturnType<typeof readScratch>, stderr: ReturnType<typeof readScratch>;
      try {
        stdout = readScratch(fs, out);
        stderr = readScratch(fs, err);
      } catch (e) {
        reject(new CommandError(argv, code, signal, '', '', false, `ran, but its output could not be read back (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`));
        return;
      } finally {
        closeAll();
      }
      if (stdout.tooLong || stderr.tooLong) reject(new CommandError(argv, code, signal, stdout.text, stderr.text, false, `printed more than ${MAX_OUTPUT} bytes`));
      else if (code === 0) resolve({ stdout: stdout.text, stderr: stderr.text });
      else reject(new CommandError(argv, code, signal, stdout.text, stderr.text, timedOut && signal === 'SIGKILL'));
    });
  });

let runner: CommandRunner = scratchRunner;

/** Runs `file` (an absolute path) with `args`. */
export function execCommand(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (!isAbsolute(file)) throw new Error(`refusing to run "${file}": commands are run by absolute path only`);
  return runner(file, args, options);
}

/** Replaces the runner (recording runners for unit tests and benches); returns the previous one. */
export function setCommandRunner(next: CommandRunner): CommandRunner {
  const prev = runner;
  runner = next;
  return prev;
}
