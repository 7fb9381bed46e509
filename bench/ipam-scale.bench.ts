/**
 * jailnetd with 65,000 leases in a /16: resident memory (target at most 100 MB) and restart
 * time, from start to the first answer on the socket (target at most 1 s): replaying the
 * journal (after SIGTERM, after SIGKILL) and reading a snapshot.
 *   BENCH_LEASES (default 65000)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocateConcurrently, BenchDaemon, call, metric } from './lib/jailnetd';

const LEASES = Number(process.env.BENCH_LEASES ?? 65_000);
const RANGES = [[{ subnet: '10.201.0.0/16' }]];
const MB = 1024 * 1024;

async function main(): Promise<void> {
  const d = new BenchDaemon();
  const log = join(d.dir, 'jailnetd.log');
  const args = ['--log-level', 'info', '--log-file', log];
  const stateRead = () => {
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('state read:'));
    return lines[lines.length - 1]?.replace(/^.*state read: /, '') ?? '?';
  };
  const leases = async () => JSON.parse((await call(d.socket, 'GET', '/v1/health')).body).leases as number;
  try {
    await d.start(args);
    const fill = await allocateConcurrently(d.socket, 'scale', RANGES, LEASES, 64, 'c');
    console.log(`filled: ${LEASES} leases in ${(fill.wallMs / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 1000));
    console.log(`memory with ${await leases()} leases: RSS ${(d.rss() / MB).toFixed(1)} MB, V8 heap used ${((await metric(d.socket, 'nodejs_heap_used_bytes')) / MB).toFixed(1)} MB  (target RSS <= 100 MB)`);

    await d.stop('SIGTERM');
    let ms = await d.start(args);
    console.log(`restart after SIGTERM (journal replay): ${ms.toFixed(0)} ms to the first answer, ${await leases()} leases; ${stateRead()}  (target <= 1000 ms)`);
    console.log(`memory after restart: RSS ${(d.rss() / MB).toFixed(1)} MB`);
    await d.stop('SIGKILL');
    ms = await d.start(args);
    console.log(`restart after SIGKILL (journal replay): ${ms.toFixed(0)} ms, ${await leases()} leases; ${stateRead()}`);

    // A snapshot: the journal is compacted after the next commit when it is over the threshold.
    await d.stop('SIGTERM');
    const conf = join(d.dir, 'compact.json');
    writeFileSync(conf, JSON.stringify({ compactAfterRecords: 1000 }));
    await d.start([...args, '--config', conf]);
    await call(d.socket, 'POST', '/v1/allocate', { network: 'scale', containerID: 'trigger', ifname: 'eth0', ranges: RANGES });
    await new Promise((r) => setTimeout(r, 1500));
    await d.stop('SIGKILL');
    ms = await d.start(args);
    console.log(`restart after SIGKILL (snapshot + short journal): ${ms.toFixed(0)} ms, ${await leases()} leases; ${stateRead()}`);
  } finally {
    await d.stop();
    d.destroy();
  }
}

void main();
