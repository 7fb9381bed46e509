import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';
import { COMMAND_ENV, execCommand } from './exec';

/**
 * When a process started, as the kernel reports it: what tells the process that wrote a lock
 * file from another one that got the same PID later (src/util/file-lock.ts).
 *
 * - Linux (where the tests and the emulated host run): /proc/PID/stat field 22, clock ticks
 *   since boot, with the boot's id (/proc/sys/kernel/random/boot_id). Exact, and neither a clock
 *   step nor a reboot changes it.
 * - FreeBSD has no /proc unless procfs is mounted. `ps -o etimes= -p PID` (bin/ps: elapsed
 *   seconds, the kernel's uptime-based start subtracted from now) minus the uptime gives the
 *   start in seconds after boot. Not `lstart`: ps prints it as wall-clock time, which moves when
 *   the clock is stepped, and a moved start would make a live lock holder look gone. Seconds
 *   only, so two starts within a second of each other are taken for the same (the safe side: a
 *   lock is kept, never broken, when unsure).
 */

export type ProcessStart = { kind: 'linux'; boot: string; ticks: number } | { kind: 'uptime'; seconds: number; bootEpoch: number };

/**
 * When this boot began, in seconds since the epoch, as far as the wall clock says: what tells a
 * start recorded in an earlier boot from one of this boot on FreeBSD. A clock step moves it, so
 * two boot times within BOOT_EPOCH_SLACK_S count as the same boot.
 */
const bootEpoch = () => Math.round(Date.now() / 1000 - uptime());
const BOOT_EPOCH_SLACK_S = 30;

export const PS_PATH = '/bin/ps';

const onLinux = () => process.platform === 'linux';

let bootId: string | undefined;
function linuxBootId(): string {
  return (bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
}

/** /proc/PID/stat field 22; the command name (field 2) may hold spaces and parentheses, so fields are counted after the last ')'. */
export function parseProcStat(text: string): number | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) && ticks >= 0 ? ticks : undefined;
}

/** `ps -o etimes=` output: the elapsed seconds, or undefined when ps printed nothing (no such process). */
export function parseElapsedSeconds(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** The start of `pid`, undefined when there is no such process. */
export async function processStart(pid: number): Promise<ProcessStart | undefined> {
  if (onLinux()) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    const ticks = parseProcStat(stat);
    return ticks === undefined ? undefined : { kind: 'linux', boot: linuxBootId(), ticks };
  }
  return processStartFromPs(pid);
}

/** The FreeBSD way (any system with a POSIX ps that knows etimes, Linux's procps too). */
export async function processStartFromPs(pid: number): Promise<ProcessStart | undefined> {
  let out: string;
  try {
    out = (await execCommand(PS_PATH, ['-o', 'etimes=', '-p', String(pid)], { env: COMMAND_ENV })).stdout;
  } catch {
    return undefined; // ps exits 1 when no process matches
  }
  const elapsed = parseElapsedSeconds(out);
  return elapsed === undefined ? undefined : { kind: 'uptime', seconds: Math.round(uptime() - elapsed), bootEpoch: bootEpoch() };
}

let ownStart: ProcessStart | undefined;
/** This process's start (looked up once). */
export async function ownProcessStart(): Promise<ProcessStart | undefined> {
  return (ownStart ??= await processStart(process.pid));
}

/** Whether two starts are the same process start: exact on Linux, within a second from ps. */
export function sameStart(a: ProcessStart, b: ProcessStart): boolean {
  if (a.kind === 'linux' && b.kind === 'linux') return a.boot === b.boot && a.ticks === b.ticks;
  if (a.kind === 'uptime' && b.kind === 'uptime') return Math.abs(a.seconds - b.seconds) <= 1;
  return false;
}

/** True when a start recorded as `s` cannot be of this boot: another boot id, or (FreeBSD) an uptime later than now or a boot time far from this one's. */
export function fromAnotherBoot(s: ProcessStart): boolean {
  if (s.kind === 'linux') return onLinux() && s.boot !== linuxBootId();
  return s.seconds > uptime() + 1 || Math.abs(s.bootEpoch - bootEpoch()) > BOOT_EPOCH_SLACK_S;
}

/** As written in a lock file: `linux:BOOTID:TICKS` or `uptime:SECONDS:BOOTEPOCH`. */
export function formatStart(s: ProcessStart): string {
  return s.kind === 'linux' ? `linux:${s.boot}:${s.ticks}` : `uptime:${s.seconds}:${s.bootEpoch}`;
}

export function parseStart(text: string): ProcessStart | undefined {
  const linux = /^linux:([0-9a-f-]{1,64}):(\d+)$/.exec(text);
  if (linux) return { kind: 'linux', boot: linux[1] as string, ticks: Number(linux[2]) };
  const up = /^uptime:(\d+):(\d+)$/.exec(text);
  if (up) return { kind: 'uptime', seconds: Number(up[1]), bootEpoch: Number(up[2]) };
  return undefined;
}
