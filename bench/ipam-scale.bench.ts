/**
 * jailnetd with 65,000 leases in a /16: resident memory (target at most 100 MB) and restart
 * time, from start to the first answer on the socket (target at most 1 s): replaying the
 * journal (after SIGKILL) and reading the snapshot a clean stop writes (after SIGTERM). The
 * daemon runs with NODE_OPTIONS=--max-semi-space-size=8, as the rc.d script and the plugin
 * start it; BENCH_DEFAULT_NODE_OPTIONS=1 runs it with Node's defaults instead.
 *   BENCH_LEASES (default 65000)
 */
import { readFileSync } from 'node:fs';
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
    return lines[lines.length - 1]?.replace(/^.*state read: /, 'state read: ').replace(/ \{.*$/, '') ?? '?';
  };
  const leases = async () => JSON.parse((await call(d.socket, 'GET', '/v1/health')).body).leases as number;
  try {
    await d.start(args);
    const fill = await allocateConcurrently(d.socket, 'scale', RANGES, LEASES, 64, 'c');
    console.log(`filled: ${LEASES} leases in ${(fill.wallMs / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 1000));
    console.log(`memory with ${await leases()} leases: RSS ${(d.rss() / MB).toFixed(1)} MB, V8 heap used ${((await metric(d.socket, 'nodejs_heap_used_bytes')) / MB).toFixed(1)} MB  (target RSS <= 100 MB)`);

    // The journal holds all 65,000 allocations: a crash leaves it to be replayed.
    await d.stop('SIGKILL');
    let ms = await d.start(args);
    await new Promise((r) => setTimeout(r, 300));
    console.log(`restart after SIGKILL (journal of ${LEASES} records replayed): ${ms.toFixed(0)} ms to the first answer, ${await leases()} leases; ${stateRead()}  (target <= 1000 ms)`);
    // The daemon collects garbage once, a second after it starts answering.
    await new Promise((r) => setTimeout(r, 2000));
    console.log(`memory after that restart (2 s later): RSS ${(d.rss() / MB).toFixed(1)} MB`);
    // A clean stop folds the journal into a snapshot.
    await d.stop('SIGTERM');
    ms = await d.start(args);
    await new Promise((r) => setTimeout(r, 300));
    console.log(`restart after SIGTERM (snapshot written at shutdown): ${ms.toFixed(0)} ms, ${await leases()} leases; ${stateRead()}`);
    await new Promise((r) => setTimeout(r, 2000));
    console.log(`memory after that restart (2 s later): RSS ${(d.rss() / MB).toFixed(1)} MB`);
  } finally {
    await d.stop();
    d.destroy();
  }
}

void main();
