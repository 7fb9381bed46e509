import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { runTempDir } from './run-dirs';
import { basename, join } from 'node:path';

/**
 * Which processes a command starts, counted exactly: strace follows the command (and, attached
 * for the time of the command, jailnetd with the processes it starts) and logs every execve,
 * one file per process (-ff). A process is one PID with at least one successful execve; its
 * kind is read from the chain of programs it executed (a tool wrapper's sh, nsenter and node
 * are one emulated command; `#!/usr/bin/env node` is one Node process). Strace slows what it
 * traces: counts only, never times, come from these runs.
 */

export const STRACE = '/usr/bin/strace';

export interface ProcessCount {
  /** Kind, e.g. "jailnet: bridge", "FreeBSD: ifconfig", "helper: ip", "Go: portmap". */
  kind: string;
  count: number;
  /** Successful execve calls of these processes together. */
  execs: number;
}

export interface Classifier {
  /** The kind of a process from the programs it executed (path and argv of each, in order). */
  (chain: { path: string; argv: string[] }[]): string;
}

interface Exec {
  path: string;
  argv: string[];
}

function parseExecs(text: string): Exec[] {
  const out: Exec[] = [];
  for (const line of text.split('\n')) {
    const m = /^execve\("((?:[^"\\]|\\.)*)", \[(.*)\], .* = 0$/.exec(line);
    if (!m) continue;
    const argv = [...(m[2] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1] as string);
    out.push({ path: m[1] as string, argv });
  }
  return out;
}

function countFiles(dir: string, classify: Classifier, into: Map<string, ProcessCount>): void {
  for (const f of readdirSync(dir)) {
    const execs = parseExecs(readFileSync(join(dir, f), 'utf8'));
    if (execs.length === 0) continue;
    const kind = classify(execs);
    const c = into.get(kind) ?? { kind, count: 0, execs: 0 };
    c.count++;
    c.execs += execs.length;
    into.set(kind, c);
  }
}

/** Waits until strace has attached to every thread of `pid` (TracerPid in /proc). */
async function attached(pid: number, tracer: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const tasks = readdirSync(`/proc/${pid}/task`);
    const traced = tasks.every((t) => /^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8')));
    if (traced) return;
    if (tracer.exitCode !== null) throw new Error(`strace -p ${pid} exited with ${tracer.exitCode}`);
    if (Date.now() > deadline) throw new Error(`strace did not attach to ${pid} within 20 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `argv` under strace, with `alsoPid` (jailnetd) traced for as long as it runs, and counts
 * the processes both started. Throws when the command fails.
 */
export async function countProcesses(argv: string[], opts: { env: NodeJS.ProcessEnv; input?: string; alsoPid?: number; classify: Classifier }): Promise<ProcessCount[]> {
  const dir = runTempDir('jailnet-bench-strace-');
  const daemonDir = runTempDir('jailnet-bench-strace-d-');
  let daemonTracer: ChildProcess | undefined;
  try {
    if (opts.alsoPid !== undefined) {
      daemonTracer = spawn(STRACE, ['-f', '-qq', '-e', 'trace=execve', '-ff', '-o', join(daemonDir, 'p'), '-p', String(opts.alsoPid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      await attached(opts.alsoPid, daemonTracer);
    }
    // --seccomp-bpf: only execve stops the traced processes.
    const r = spawnSync(STRACE, ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=execve', '-ff', '-o', join(dir, 'p'), ...argv], { env: opts.env, input: opts.input ?? '', stdio: ['pipe', 'pipe', 'pipe'], timeout: 300_000 });
    if (r.status !== 0) throw new Error(`${argv.map((a) => basename(a)).join(' ')} under strace exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim().slice(-2000)}`);
    if (daemonTracer) {
      const t = daemonTracer;
      const exited = new Promise((res) => t.once('exit', res));
      t.kill('SIGINT');
      await exited;
    }
    const counts = new Map<string, ProcessCount>();
    countFiles(dir, opts.classify, counts);
    countFiles(daemonDir, opts.classify, counts);
    return [...counts.values()].sort((a, b) => a.kind.localeCompare(b.kind));
  } finally {
    if (daemonTracer && daemonTracer.exitCode === null && daemonTracer.signalCode === null) daemonTracer.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(daemonDir, { recursive: true, force: true });
  }
}

/**
 * Kinds for the attach benchmark: the emulated FreeBSD tools (a wrapper under the emulated
 * host's dir), jailnet's Node programs (dist/bin, dist/cni, or the benchmark's plugin wrappers
 * of the same names), the libcni client, Debian's Go plugins, and helpers by program name.
 */
export function attachClassifier(opts: { emulatedHostDir: string; jailnetDirs: string[]; goPluginDirs: string[]; libcniClient: string; wrapperShell?: string }): Classifier {
  const inDir = (path: string, dirs: string[]) => dirs.some((d) => path.startsWith(`${d}/`));
  return (chain) => {
    for (const { path } of chain) if (path.startsWith(`${opts.emulatedHostDir}/`)) return `FreeBSD: ${basename(path)}`;
    for (const { path } of chain) if (inDir(path, opts.jailnetDirs)) return `jailnet: ${basename(path)}`;
    for (const { path } of chain) if (path === opts.libcniClient) return 'runtime: libcni client';
    for (const { path } of chain) if (inDir(path, opts.goPluginDirs)) return `Go: ${basename(path)}`;
    const last = chain[chain.length - 1] as Exec;
    return `helper: ${basename(last.path)}`;
  };
}
