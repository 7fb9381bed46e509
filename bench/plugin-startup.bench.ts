/**
 * Start-up cost of a plugin: VERSION of a trivial plugin built on the dispatcher (the bundled
 * executable, started through its #! line as a runtime starts it) against a bare `node -e ''`,
 * interleaved in the same run. Target: within 1.2x of the bare start. The real plugins' VERSION
 * is measured the same way and reported beside it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const WARMUP = 5;
const dist = join(process.cwd(), 'dist');
const subjects: [string, string][] = [
  ['noop plugin (dispatcher only)', join(dist, 'test/cni/noop')],
  ['bridge', join(dist, 'cni/bridge')],
  ['epair', join(dist, 'cni/epair')],
  ['nat', join(dist, 'cni/nat')],
  ['portmap', join(dist, 'cni/portmap')],
  ['jailnet-ipam', join(dist, 'cni/jailnet-ipam')],
];
for (const [, path] of subjects) if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);

function time(file: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} exited with ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const env = { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' };
const bare: number[] = [];
const samples = subjects.map(() => [] as number[]);
for (let i = 0; i < WARMUP + RUNS; i++) {
  const b = time(process.execPath, ['-e', ''], env);
  const row = subjects.map(([, path]) => time(path, [], env));
  if (i < WARMUP) continue;
  bare.push(b);
  row.forEach((ms, k) => samples[k]?.push(ms));
}
console.log(`node -e ''                     : p50 ${p50(bare).toFixed(1)} ms, mean ${mean(bare).toFixed(1)} ms  (${RUNS} runs, interleaved)`);
subjects.forEach(([name], k) => {
  const xs = samples[k] as number[];
  console.log(`${`${name} VERSION`.padEnd(31)}: p50 ${p50(xs).toFixed(1)} ms, mean ${mean(xs).toFixed(1)} ms, ratio ${(p50(xs) / p50(bare)).toFixed(3)}x (p50) ${(mean(xs) / mean(bare)).toFixed(3)}x (mean)`);
});
const ratio = p50(samples[0] as number[]) / p50(bare);
console.log(`target: dispatcher plugin within 1.2x of node -e '': ${ratio.toFixed(3)}x`);
if (ratio > 1.2) process.exitCode = 1;
