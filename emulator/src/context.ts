/**
 * What every emulated FreeBSD tool shares: which emulated host it acts on, the lock that keeps
 * concurrent commands consistent, the trace of invocations and the fault switch.
 *
 * An emulated host is a directory (the "host dir"). The harness writes `emu.json` there and
 * wrapper scripts `sbin/ifconfig`, `usr/sbin/jail`, ... that run the bundled tool with
 * JAILNET_EMU_DIR set to the host dir. Pointing JAILNET_FREEBSD_ROOT at the host dir is all a
 * jailnet program needs to use it.
 *
 *   <dir>/emu.json       EmuConfig (written by the harness)
 *   <dir>/state/         tool state (one JSON file per concern, see state files below)
 *   <dir>/trace.jsonl    one TraceEntry per invocation
 *   <dir>/faults.json    Fault[] (written by tests)
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { helpersStarted } from './exec';

export const EMU_DIR_ENV = 'JAILNET_EMU_DIR';
/** Set when a tool runs "inside" a jail (ifconfig -j J, jexec J /sbin/ifconfig): the jail name. */
export const EMU_JAIL_ENV = 'JAILNET_EMU_JAIL';

export interface EmuConfig {
  /** Network namespace that plays the FreeBSD host. */
  hostNs: string;
  /** Prefix of the network namespaces created for vnet jails (`<prefix><jid>`). */
  jailNsPrefix: string;
  /** Network namespace that plays the outside world behind em0, when the harness made one. */
  worldNs?: string;
  /** Absolute path of the node binary the wrappers use. */
  node: string;
  /** Absolute path of dist/emulator (the bundled tools). */
  toolsDir: string;
}

export interface EmuContext {
  dir: string;
  config: EmuConfig;
  /** The jail this invocation acts in, when run with -j or through jexec. */
  jail?: string;
}

export function loadContext(env: NodeJS.ProcessEnv = process.env): EmuContext {
  const dir = env[EMU_DIR_ENV];
  if (!dir) throw new Error(`${EMU_DIR_ENV} is not set: run the emulated tools through the wrappers in an emulated host dir`);
  const config = JSON.parse(readFileSync(join(dir, 'emu.json'), 'utf8')) as EmuConfig;
  const ctx: EmuContext = { dir, config };
  const jail = env[EMU_JAIL_ENV];
  if (jail) ctx.jail = jail;
  return ctx;
}

// ---- state files ---------------------------------------------------------------------------

export function statePath(ctx: EmuContext, name: string): string {
  return join(ctx.dir, 'state', name);
}

/** Reads a JSON state file, or `fallback` when it does not exist yet. */
export function readState<T>(ctx: EmuContext, name: string, fallback: T): T {
  const p = statePath(ctx, name);
  if (!existsSync(p)) return fallback;
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}

/** Writes a JSON state file atomically (temp file + rename). Call with the lock held. */
export function writeState(ctx: EmuContext, name: string, value: unknown): void {
  const p = statePath(ctx, name);
  mkdirSync(join(ctx.dir, 'state'), { recursive: true });
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, p);
}

// ---- lock ----------------------------------------------------------------------------------

/**
 * Runs `fn` holding the host's lock `name`. The lock is an abstract unix socket: binding is
 * atomic and the kernel releases it when the holder dies, so a killed command never leaves a
 * stale lock. Abstract names are per network namespace, so every emulated tool process runs in
 * the emulated host's namespace whoever starts it (the harness's wrappers enter it with nsenter
 * before starting node): a tool started by a test from the machine's namespace and one started
 * by jailnetd inside the host contend for the same lock. Jail context is passed by environment,
 * never by entering a jail's namespace.
 */
export async function withLock<T>(ctx: EmuContext, name: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const id = createHash('sha256').update(`${ctx.dir}\0${name}`).digest('hex').slice(0, 32);
  const server = await bindLock(`\0jailnet-emu-${id}`, timeoutMs);
  try {
    return await fn();
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function bindLock(address: string, timeoutMs: number): Promise<Server> {
  const deadline = Date.now() + timeoutMs;
  // Waiters back off exponentially (to 40 ms): many commands waiting on a small machine must
  // not spend the CPU the holder needs.
  let wait = 1;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE') return reject(err);
        if (Date.now() > deadline) return reject(new Error(`timed out waiting for the emulator lock`));
        setTimeout(attempt, wait * (0.5 + Math.random()));
        wait = Math.min(wait * 2, 40);
      });
      server.listen(address, () => {
        server.unref();
        resolve(server);
      });
    };
    attempt();
  });
}

// ---- trace ---------------------------------------------------------------------------------

export interface TraceEntry {
  /** Milliseconds since the epoch at start. */
  ts: number;
  tool: string;
  argv: string[];
  /** Jail context (ifconfig -j / route -j / jexec'd tool), if any. */
  jail?: string;
  exit: number;
  ms: number;
  /** True when the fault switch made this invocation fail. */
  fault?: boolean;
  /**
   * The helper processes the invocation started (`ip`, `nft`, `sysctl`...), in order; a helper
   * run as `ip netns exec NS prog` is listed as `prog`. Not listed: the program jexec runs.
   */
  helpers: string[];
  /**
   * CPU time of the invocation in milliseconds, taken as it writes this entry: its own user +
   * system time (getrusage, microseconds; the process began as the wrapper's sh and nsenter,
   * which exec into node, so their part is in it) plus the user + system time of the children
   * it has waited for (`cutime` + `cstime` of /proc/self/stat, whole clock ticks of 10 ms, so
   * helpers that took 9 ms together count 0). Not in it: node's exit after this line. A jexec
   * entry's includes the program it ran (an emulated tool run so has its own entry too). Lets a
   * benchmark tell the emulated FreeBSD commands' CPU from their caller's.
   */
  cpuMs: number;
}

/** USER_HZ of Linux's /proc (sysconf(_SC_CLK_TCK)): 100 on every architecture Linux ships. */
const CLOCK_TICKS_PER_SECOND = 100;

/** This process's CPU time so far in ms, children it has waited for included (TraceEntry.cpuMs). */
export function cpuMsSoFar(): number {
  const own = process.cpuUsage();
  let childrenMs = 0;
  try {
    // The fields after the command name (which may hold spaces or parentheses): cutime and
    // cstime are fields 16 and 17 of proc(5), the 14th and 15th after it.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    childrenMs = ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    /* no /proc: the children's part is unknown */
  }
  const ms = (own.user + own.system) / 1000 + (Number.isFinite(childrenMs) ? childrenMs : 0);
  return Math.round(ms * 10) / 10;
}

export function appendTrace(ctx: EmuContext, entry: TraceEntry): void {
  appendFileSync(join(ctx.dir, 'trace.jsonl'), `${JSON.stringify(entry)}\n`);
}

// ---- fault switch --------------------------------------------------------------------------

/**
 * A command that must fail: every invocation of `tool` whose argv contains all of `words`
 * (in any order) and none of `notWords` prints `stderr` and exits with `exit` (default 1)
 * without doing anything.
 */
export interface Fault {
  tool: string;
  words: string[];
  /** Words the invocation must not contain (to tell `route -j J get default` from the host's). */
  notWords?: string[];
  stderr?: string;
  exit?: number;
}

export function findFault(ctx: EmuContext, tool: string, argv: readonly string[]): Fault | undefined {
  const p = join(ctx.dir, 'faults.json');
  if (!existsSync(p)) return undefined;
  const faults = JSON.parse(readFileSync(p, 'utf8')) as Fault[];
  return faults.find((f) => f.tool === tool && f.words.every((w) => argv.includes(w)) && !(f.notWords ?? []).some((w) => argv.includes(w)));
}

// ---- tool main -----------------------------------------------------------------------------

/** Thrown by tool code for a FreeBSD-style failure: `message` goes to stderr as "tool: message". */
export class ToolError extends Error {
  constructor(message: string, readonly exitCode = 1, readonly stdout = '') {
    super(message);
  }
}

export interface ToolIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * The main of every emulated tool: loads the context, applies the fault switch, runs `main`,
 * prints a ToolError as FreeBSD would (stderr, exit status), and traces the invocation.
 */
export function runTool(tool: string, main: (ctx: EmuContext, argv: string[], io: ToolIo) => Promise<number>): void {
  const argv = process.argv.slice(2);
  const started = Date.now();
  let ctx: EmuContext;
  try {
    ctx = loadContext();
  } catch (err) {
    process.stderr.write(`${tool}: ${(err as Error).message}\n`);
    process.exitCode = 70;
    return;
  }
  const io: ToolIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  const finish = (exit: number, fault?: boolean) => {
    const entry: TraceEntry = { ts: started, tool, argv, exit, ms: Date.now() - started, helpers: helpersStarted(), cpuMs: cpuMsSoFar() };
    if (ctx.jail) entry.jail = ctx.jail;
    if (fault) entry.fault = true;
    appendTrace(ctx, entry);
    process.exitCode = exit;
  };
  const fault = findFault(ctx, tool, argv);
  if (fault) {
    io.err(`${fault.stderr ?? `${tool}: injected fault`}\n`);
    finish(fault.exit ?? 1, true);
    return;
  }
  main(ctx, argv, io)
    .then((code) => finish(code))
    .catch((err: unknown) => {
      if (err instanceof ToolError) {
        if (err.stdout) io.out(err.stdout);
        io.err(`${tool}: ${err.message}\n`);
        finish(err.exitCode);
      } else {
        io.err(`${tool}: emulator error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        finish(70);
      }
    });
}
