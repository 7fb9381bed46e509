/**
 * Where should a hook's chain run (issue 13, docs/architecture.md "One process per hook")? Both
 * placements, measured on the emulated host with jailnetd, as CPU time of jailnet's own
 * processes per runj hook cycle (create-runtime with a published port, then poststop):
 *
 *  (a) in the `jailnet` process the hook starts, the plugins in-process (what `jailnet hook`
 *      does when nothing answers on jailnetd's socket; forced here by pointing JAILNETD_SOCKET
 *      at nothing, while the network file still names the running jailnetd for IPAM);
 *  (b) in jailnetd, `jailnet hook` a thin client of POST /v1/hook (what it does by default).
 *
 * Each counts the `jailnet` processes (their own user + system time, process.cpuUsage() at
 * exit through a --require'd reporter: the emulated FreeBSD commands are not in it) and
 * jailnetd's time over the cycle (from /proc). The two are interleaved, cycle by cycle.
 *
 *   npm run bench -- hook-placement [--cycles N]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulatedHost } from '../test/harness/emulated-host';
import { jailnetCliEnv } from '../test/helpers/jailnet-cli';
import { BenchDaemon } from './lib/jailnetd';
import { fmt, summarize, table } from './lib/stats';
import { enablePfWithHooks } from '../test/helpers/pf-hooks';

const ROOT = process.cwd();
const JAILNET = join(ROOT, 'dist/bin/jailnet');
const JAIL = 'pl';

const cyclesArg = process.argv.indexOf('--cycles');
const CYCLES = cyclesArg > 0 ? Number(process.argv[cyclesArg + 1]) : 20;
const WARMUP = 3;

/** `--require`d into the processes measured: their own CPU time, written at exit. */
const REPORTER = `
const { appendFileSync } = require('node:fs');
process.on('exit', () => {
  const u = process.cpuUsage();
  appendFileSync(process.env.BENCH_CPU_REPORT, JSON.stringify({ ms: (u.user + u.system) / 1000 }) + '\\n');
});`;

function daemonCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function run(argv: string[], env: NodeJS.ProcessEnv, input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited with ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

async function main(): Promise<void> {
  const host = await createEmulatedHost();
  const work = mkdtempSync(join(tmpdir(), 'jailnet-placement-'));
  const daemon = new BenchDaemon({ netns: host.hostNs, env: host.env, flags: ['--reclaim-interval', '0', '--log-level', 'warn'] });
  try {
    await daemon.start();
    const daemonPid = daemon.child?.pid as number;
    await enablePfWithHooks(host);
    await host.createJail(JAIL);
    const report = join(work, 'cpu.jsonl');
    writeFileSync(join(work, 'reporter.cjs'), REPORTER);
    const cliEnv = jailnetCliEnv(host, daemon.socket, work);
    delete cliEnv.NODE_EXTRA_CA_CERTS;
    const measured = { ...cliEnv, NODE_OPTIONS: `--require ${join(work, 'reporter.cjs')}`, BENCH_CPU_REPORT: report };
    await run([JAILNET, 'network', 'create', 'default', '--subnet', '10.88.0.0/16'], cliEnv, '');
    const state = JSON.stringify({ ociVersion: '1.0.2', id: JAIL, status: 'creating', pid: 1, bundle: '/nonexistent', annotations: {} });
    const reported = () => {
      const ms = readFileSync(report, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { ms: number }).ms);
      rmSync(report, { force: true });
      return ms.reduce((a, b) => a + b, 0);
    };

    const inProcess = { ...measured, JAILNETD_SOCKET: join(work, 'nobody.sock') };
    const cycle = async (env: NodeJS.ProcessEnv) => {
      rmSync(report, { force: true });
      const d0 = daemonCpuMs(daemonPid);
      await run([JAILNET, 'hook', 'create-runtime', '-n', 'default', '-p', '8080:80', '--no-resolv-conf'], env, state);
      await run([JAILNET, 'hook', 'poststop'], env, state);
      return { own: reported(), daemon: daemonCpuMs(daemonPid) - d0 };
    };
    const figures = { a: [] as number[], aDaemon: [] as number[], b: [] as number[], bDaemon: [] as number[] };
    for (let i = 0; i < WARMUP + CYCLES; i++) {
      const a = await cycle(inProcess);
      const b = await cycle(measured);
      if (i < WARMUP) continue;
      figures.a.push(a.own);
      figures.aDaemon.push(a.daemon);
      figures.b.push(b.own);
      figures.bDaemon.push(b.daemon);
    }
    const med = (xs: number[]) => summarize(xs).median;
    const row = (name: string, xs: number[]) => {
      const f = summarize(xs);
      return [name, fmt(f.median, 1), `${fmt(f.p10, 1)}-${fmt(f.p90, 1)}`];
    };
    // jailnetd's time comes in clock ticks (10 ms): its mean over the cycles, not a median.
    const mean = (xs: number[]) => summarize(xs).mean;
    const aTotal = med(figures.a) + mean(figures.aDaemon);
    const bTotal = med(figures.b) + mean(figures.bDaemon);
    process.stdout.write(
      `hook placement: CPU ms per hook cycle (create-runtime -p 8080:80, poststop), median of ${CYCLES} (${WARMUP} warm-up), load ${fmt(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]), 2)}\n\n` +
        table(
          ['part', 'median ms', 'p10-p90'],
          [
            row('(a) jailnet processes, chain in-process', figures.a),
            ['(a) jailnetd (mean)', fmt(mean(figures.aDaemon), 1), ''],
            ['(a) total', fmt(aTotal, 1), ''],
            row('(b) jailnet processes, thin clients', figures.b),
            ['(b) jailnetd, running the chain (mean)', fmt(mean(figures.bDaemon), 1), ''],
            ['(b) total', fmt(bTotal, 1), ''],
          ],
        ) +
        `\n(b) / (a): ${fmt(bTotal / aTotal, 2)}\n`,
    );
  } finally {
    await daemon.stop().catch(() => undefined);
    await host.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
