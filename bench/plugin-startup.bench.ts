/**
 * Start-up cost of a plugin: VERSION of a trivial plugin built on the dispatcher (the bundled
 * executable, started through its #! line as a runtime starts it) against a bare `node -e ''`,
 * interleaved in the same run. Target: within 1.2x of the bare start.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const WARMUP = 5;
const plugin = join(process.cwd(), 'dist/test/cni/noop');
if (!existsSync(plugin)) throw new Error('dist/test/cni/noop is missing: run `npm run build` first');

function time(file: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} exited with ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, p50: at(0.5), p90: at(0.9) };
};

const env = { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' };
const bare: number[] = [];
const version: number[] = [];
for (let i = 0; i < WARMUP + RUNS; i++) {
  const b = time(process.execPath, ['-e', ''], env);
  const v = time(plugin, [], env);
  if (i >= WARMUP) {
    bare.push(b);
    version.push(v);
  }
}
const sb = stats(bare);
const sv = stats(version);
const fmt = (s: ReturnType<typeof stats>) => `mean ${s.mean.toFixed(1)} ms, p50 ${s.p50.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms`;
console.log(`node -e ''         : ${fmt(sb)}  (${RUNS} runs, interleaved)`);
console.log(`noop plugin VERSION: ${fmt(sv)}`);
const ratio = sv.p50 / sb.p50;
console.log(`ratio (p50)        : ${ratio.toFixed(3)}x  (target <= 1.2x)`);
console.log(`ratio (mean)       : ${(sv.mean / sb.mean).toFixed(3)}x`);
if (ratio > 1.2) process.exitCode = 1;
