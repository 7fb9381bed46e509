/**
 * jailnetd: durable allocations per second with 64 concurrent clients, and their latency.
 * Each allocation is acknowledged only after its journal record is fsynced; concurrent ones
 * share a write+fsync (group commit). Target: at least 5,000 allocations/s.
 *   BENCH_ALLOCATIONS (default 40000, in a /16), BENCH_CLIENTS (default 64)
 */
import { allocateConcurrently, BenchDaemon, metric, percentile } from './lib/jailnetd';

const TOTAL = Number(process.env.BENCH_ALLOCATIONS ?? 40_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const RANGES = [[{ subnet: '10.200.0.0/16' }]];

async function main(): Promise<void> {
  const d = new BenchDaemon();
  try {
    await d.start();
    await allocateConcurrently(d.socket, 'bench', RANGES, 2000, CLIENTS, 'warm');
    const commits0 = await metric(d.socket, 'jailnetd_journal_commits_total');
    const commitSeconds0 = await metric(d.socket, 'jailnetd_journal_commit_seconds_total');
    const records0 = await metric(d.socket, 'jailnetd_journal_records_total');
    const { latencies, wallMs } = await allocateConcurrently(d.socket, 'bench', RANGES, TOTAL, CLIENTS, 'a');
    const commits = (await metric(d.socket, 'jailnetd_journal_commits_total')) - commits0;
    const records = (await metric(d.socket, 'jailnetd_journal_records_total')) - records0;
    const commitSeconds = (await metric(d.socket, 'jailnetd_journal_commit_seconds_total')) - commitSeconds0;
    const rate = (TOTAL / wallMs) * 1000;
    console.log(`durable allocations: ${TOTAL} with ${CLIENTS} concurrent clients in ${(wallMs / 1000).toFixed(2)} s = ${rate.toFixed(0)}/s  (target >= 5000/s)`);
    console.log(`latency: p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms, max ${percentile(latencies, 1).toFixed(2)} ms`);
    console.log(`group commit: ${commits} write+fdatasync for ${records} records (${(records / commits).toFixed(1)} per fsync, ${((commits / wallMs) * 1000).toFixed(0)} fsyncs/s, ${((commitSeconds / commits) * 1000).toFixed(2)} ms per write+fdatasync)`);
    if (rate < 5000) process.exitCode = 1;
  } finally {
    await d.stop();
    d.destroy();
  }
}

void main();
