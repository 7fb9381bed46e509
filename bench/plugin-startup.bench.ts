/**
 * Start-up cost of a plugin: VERSION of a trivial plugin built on the dispatcher (the bundled
 * executable, started through its #! line as a runtime starts it) against a bare `node -e ''`,
 * interleaved in the same run. Target: within 1.2x of the bare start. The real plugins' VERSION
 * is measured the same way and reported beside it. (bench/attach.bench.ts measures the same
 * starts, with their CPU time, as part of its report.)
 */
import { measureStartups, pluginVersionSubjects } from './lib/startup';

const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const WARMUP = 5;
const subjects = pluginVersionSubjects();

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const [bare, ...figures] = measureStartups(subjects, { runs: RUNS, warmup: WARMUP });
if (!bare) throw new Error('no figures');
console.log(`node -e ''                     : p50 ${p50(bare.wallMs).toFixed(1)} ms, mean ${mean(bare.wallMs).toFixed(1)} ms  (${RUNS} runs, interleaved)`);
for (const f of figures) {
  console.log(`${f.name.padEnd(31)}: p50 ${p50(f.wallMs).toFixed(1)} ms, mean ${mean(f.wallMs).toFixed(1)} ms, ratio ${(p50(f.wallMs) / p50(bare.wallMs)).toFixed(3)}x (p50) ${(mean(f.wallMs) / mean(bare.wallMs)).toFixed(3)}x (mean)`);
}
const ratio = p50(figures[0]?.wallMs ?? []) / p50(bare.wallMs);
console.log(`target: dispatcher plugin within 1.2x of node -e '': ${ratio.toFixed(3)}x`);
if (ratio > 1.2) process.exitCode = 1;
