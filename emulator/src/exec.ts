import { spawn } from 'node:child_process';

/**
 * The one place in the emulator that starts a helper process (ip, nsenter, sysctl, kill...):
 * argv arrays, never a shell. Returns exit status and output instead of throwing.
 */

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: readonly string[], input?: string): Promise<RunResult> {
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
