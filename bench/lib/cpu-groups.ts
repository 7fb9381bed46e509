import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from './run-dirs';

/**
 * CPU time of groups of processes, exited ones included, from Linux control groups: every
 * process started inside a group stays in it (children too) unless it moves itself, and the
 * kernel sums the CPU time of all of them in nanoseconds (cgroup v2 `cpu.stat` usage_usec, v1
 * `cpuacct.usage`). /proc's utime and cutime are whole clock ticks of 10 ms, too coarse for a
 * process of 40 ms, and a process can only see its waited-for children there; the groups count
 * everything a command started, to the microsecond, and a command's exit after its last word.
 *
 * The groups are made under this process's own group (`jnbench-<pid>-<random>/<name>`), hold
 * only the benchmark's processes, and are removed by remove() or at exit; groups of dead runs
 * go at the next start. No controller is enabled: membership changes no limit, it only counts.
 */

interface Hierarchy {
  /** Where this process's own group is in the mounted hierarchy. */
  base: string;
  /** Reads the CPU time (ms) of a group directory. */
  usageMs(dir: string): number;
}

function ownGroup(): { v2?: string; cpuacct?: string } {
  const out: { v2?: string; cpuacct?: string } = {};
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === '') out.v2 = path;
    else if (controllers?.split(',').includes('cpuacct')) out.cpuacct = path;
  }
  return out;
}

function mountOf(type: string, option?: string): string | undefined {
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, dir, fstype, opts] = line.split(' ');
    if (fstype === type && (!option || opts?.split(',').includes(option))) return dir;
  }
  return undefined;
}

function findHierarchy(): Hierarchy {
  const own = ownGroup();
  const v2 = mountOf('cgroup2');
  if (v2 && own.v2 !== undefined && existsSync(join(v2, own.v2, 'cgroup.procs'))) {
    return { base: join(v2, own.v2), usageMs: (dir) => Number(/^usage_usec (\d+)$/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))?.[1]) / 1000 };
  }
  const v1 = mountOf('cgroup', 'cpuacct');
  if (v1 && own.cpuacct !== undefined) {
    return { base: join(v1, own.cpuacct), usageMs: (dir) => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e6 };
  }
  throw new Error('no cgroup v2 hierarchy and no v1 cpuacct one is mounted: the benchmark counts CPU time per group of processes with them (as root, with /sys/fs/cgroup mounted read-write)');
}

export interface CpuGroup {
  name: string;
  /** The group's cgroup.procs: writing a PID there moves that process (and its later children). */
  procsFile: string;
  /** CPU time of every process that ran in the group so far, in ms. */
  usageMs(): number;
  /** Moves a running process into the group. */
  add(pid: number): void;
  /**
   * argv that runs `argv` inside the group: sh moves itself in, then execs the command, so the
   * command and all it starts are counted from its first instruction, and sh's own start is not.
   */
  wrap(argv: readonly string[]): string[];
}

const PREFIX = 'jnbench-';

/** Empties a group tree into `parent` (moving what still runs there) and removes it. */
function removeTree(dir: string, parent: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name), parent);
  for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      writeFileSync(join(parent, 'cgroup.procs'), pid);
    } catch {
      /* exited meanwhile */
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    /* a process is still being moved or exiting; the next run removes it */
  }
}

export class CpuGroups {
  private readonly hierarchy = findHierarchy();
  readonly root: string;
  private readonly groups = new Map<string, CpuGroup>();

  constructor() {
    for (const d of readdirSync(this.hierarchy.base)) {
      const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(d);
      if (m && !pidAlive(Number(m[1]))) removeTree(join(this.hierarchy.base, d), this.hierarchy.base);
    }
    this.root = join(this.hierarchy.base, `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`);
    mkdirSync(this.root);
    process.on('exit', () => this.remove());
  }

  group(name: string): CpuGroup {
    const known = this.groups.get(name);
    if (known) return known;
    const dir = join(this.root, name);
    mkdirSync(dir);
    const procsFile = join(dir, 'cgroup.procs');
    const usage = this.hierarchy.usageMs;
    const g: CpuGroup = {
      name,
      procsFile,
      usageMs: () => usage(dir),
      add: (pid) => writeFileSync(procsFile, String(pid)),
      wrap: (argv) => ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', procsFile, ...argv],
    };
    this.groups.set(name, g);
    return g;
  }

  /** CPU time (ms) of every group made so far, by name. */
  usage(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, g] of this.groups) out[name] = g.usageMs();
    return out;
  }

  remove(): void {
    removeTree(this.root, this.hierarchy.base);
    this.groups.clear();
  }
}
