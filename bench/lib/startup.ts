import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuGroup } from './cpu-groups';

/**
 * Start-up cost of executables against a bare `node -e ''`, interleaved in the same run (each
 * round starts the bare node, then every subject once), so that the machine's load hits all of
 * them alike. Wall time of each start is taken with the subject started directly, as a runtime
 * starts it; with a CpuGroup, each subject is started a second time inside the group, for its
 * CPU time (user + system of the whole process, exit included).
 */

export interface StartupSubject {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdin?: string;
  /** Exit statuses that count as success (default: 0). */
  okCodes?: number[];
}

export interface StartupFigures {
  name: string;
  wallMs: number[];
  cpuMs: number[];
}

export const BARE_NODE = "node -e ''";

function start(argv: readonly string[], s: StartupSubject): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0] as string, argv.slice(1), { env: s.env, input: s.stdin ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!(s.okCodes ?? [0]).includes(r.status ?? -1)) throw new Error(`${s.name}: ${argv.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  return ms;
}

/** Figures of the bare node start first, then of each subject in order. */
export function measureStartups(subjects: StartupSubject[], opts: { runs: number; warmup: number; cpu?: CpuGroup }): StartupFigures[] {
  const bare: StartupSubject = { name: BARE_NODE, argv: [process.execPath, '-e', ''], env: { PATH: process.env.PATH } };
  const all = [bare, ...subjects];
  const figures: StartupFigures[] = all.map((s) => ({ name: s.name, wallMs: [], cpuMs: [] }));
  for (let round = 0; round < opts.warmup + opts.runs; round++) {
    all.forEach((s, k) => {
      const wall = start(s.argv, s);
      let cpu: number | undefined;
      if (opts.cpu) {
        const before = opts.cpu.usageMs();
        start(opts.cpu.wrap(s.argv), s);
        cpu = opts.cpu.usageMs() - before;
      }
      if (round < opts.warmup) return;
      const f = figures[k] as StartupFigures;
      f.wallMs.push(wall);
      if (cpu !== undefined) f.cpuMs.push(cpu);
    });
  }
  return figures;
}

/**
 * VERSION of each plugin executable in dist/cni, and of a plugin that is the dispatcher only
 * (dist/test/cni/noop), with nothing in the environment but PATH and CNI_COMMAND.
 */
export function pluginVersionSubjects(dist = join(process.cwd(), 'dist')): StartupSubject[] {
  const env = { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' };
  const plugins: [string, string][] = [
    ['noop plugin (dispatcher only)', 'test/cni/noop'],
    ['bridge', 'cni/bridge'],
    ['epair', 'cni/epair'],
    ['nat', 'cni/nat'],
    ['portmap', 'cni/portmap'],
    ['jailnet-ipam', 'cni/jailnet-ipam'],
  ];
  return plugins.map(([name, rel]) => {
    const path = join(dist, rel);
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);
    return { name: `${name} VERSION`, argv: [path], env };
  });
}
