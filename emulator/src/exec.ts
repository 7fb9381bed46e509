import { spawn } from 'node:child_process';
import { basename } from 'node:path';

/**
 * The one place in the emulator that starts a helper process (ip, nsenter, sysctl, kill...):
 * argv arrays, never a shell. Returns exit status and output instead of throwing.
 */

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The helpers this process started, in order (see helpersStarted). */
const started: string[] = [];

/**
 * The programs this tool invocation has started so far, by base name, in order; a helper run as
 * `ip netns exec NS prog ...` counts as `prog` (it is one process: ip execs prog). runTool puts
 * the list in the trace entry, so tests can count the work one command does.
 */
export function helpersStarted(): string[] {
  return [...started];
}

function helperName(file: string, args: readonly string[]): string {
  const viaNetns = basename(file) === 'ip' && args[0] === 'netns' && args[1] === 'exec' && args[3] !== undefined;
  return basename(viaNetns ? (args[3] as string) : file);
}

export function run(file: string, args: readonly string[], input?: string): Promise<RunResult> {
  started.push(helperName(file, args));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args as string[], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {
      /* the helper may exit without reading its input */
    });
    child.stdin.end(input ?? '');
  });
}

/** Like run, but a non-zero exit is an internal error of the emulator. */
export async function runOk(file: string, args: readonly string[], input?: string): Promise<string> {
  const r = await run(file, args, input);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
