import type * as ChildProcess from 'node:child_process';
import { isAbsolute } from 'node:path';
import { CniCode } from '../cni/errors';

/**
 * The one place in jailnet that starts a process: execFile with an absolute path and an argv
 * array, never a shell, always with a timeout. Errors carry the command line, exit status and stderr.
 */

export interface ExecOptions {
  /** Written to the child's stdin, which is closed afterwards (closed at once when absent). */
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

const execFileRunner: CommandRunner = (file, args, options) =>
  new Promise((resolve, reject) => {
    const child = loadChildProcess().execFile(
      file,
      args as string[],
      { timeout: options.timeoutMs ?? defaultTimeout(), killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, env: options.env ?? COMMAND_ENV, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: NodeJS.Signals | null };
        const argv = [file, ...args];
        if (typeof e.code === 'string') {
          // Spawn failure (ENOENT, EACCES...): the program itself is missing or not executable.
          return reject(new CommandError(argv, null, null, stdout, stderr, false, `could not be started (${e.code})`));
        }
        const timedOut = e.killed === true && e.signal === 'SIGKILL' && typeof e.code !== 'number';
        reject(new CommandError(argv, typeof e.code === 'number' ? e.code : null, e.signal ?? null, stdout, stderr, timedOut));
      },
    );
    child.stdin?.on('error', () => {
      /* the child may exit without reading its input; its exit status tells what happened */
    });
    child.stdin?.end(options.input ?? '');
  });

let runner: CommandRunner = execFileRunner;

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
