/**
 * jailnetd's memory over many attach/detach cycles, quickly (issue 13: "Daemon memory grows at
 * most 10% over the 200 cycles"). The attach bench measures the same thing in about 20 minutes
 * among everything else; this one replays what an attach and a detach ask of jailnetd, so that a
 * cause can be found by leaving requests out, and a change tried in minutes:
 *
 *  1. on an emulated FreeBSD host with conf/pf.conf, a first jailnetd, preloaded with
 *     bench/lib/record-requests.cjs, serves one real hook cycle (`jailnet hook create-runtime
 *     -p 8080:80`, the jail removed, `jailnet hook poststop`): every request the plugins sent
 *     is recorded, with its answer's status;
 *  2. a second jailnetd, started as the attach bench starts it (the rc.d script's flags, the
 *     fixed environment of src/ipam/autostart.ts, gc() on SIGUSR2), gets those requests again
 *     for each cycle, in order, the jail created before the attach's and removed before the
 *     detach's, each answer's status compared with the recorded one;
 *  3. its memory: at start, after the warm-up cycles and after the measured ones (idle: median
 *     of 3 samples after a settle period; then after a forced full GC), every tenth of the
 *     cycles, and what makes up the resident size after the GC (/proc/PID/smaps: the brk heap,
 *     anonymous mappings, files; V8's spaces, external memory and ArrayBuffers).
 *
 *   npm run bench -- daemon-memory [--cycles N] [--warmup W] [--hook] [--skip PATH,...]
 *                                  [--env NAME=VALUE]... [--node-options TEXT] [--preload FILE]...
 *                                  [--json FILE]
 *
 * --hook runs real hook cycles instead of the replay (slow: ~4 s a cycle); --skip leaves out
 * the requests whose path (without /v1/) starts with one of the given texts (the detach's
 * release then frees what the skipped ones would have: the daemon tears down what a lease holds);
 * --env adds a variable to the daemon's environment and --node-options replaces its NODE_OPTIONS
 * (experiments: MALLOC_ARENA_MAX=2, --max-semi-space-size=...), and --preload has the daemon's node
 * load a file first (e.g. one that calls v8.setFlagsFromString).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createEmulatedHost, type EmulatedHost } from '../test/harness/emulated-host';
import { jailnetCliEnv } from '../test/helpers/jailnet-cli';
import { BenchDaemon, call, type GcReport } from './lib/jailnetd';
import { runTempDir } from './lib/run-dirs';
import { fmt, percentile, table } from './lib/stats';
import { enablePfWithHooks } from '../test/helpers/pf-hooks';

interface Options {
  cycles: number;
  warmup: number;
  hook: boolean;
  skip: string[];
  env: Record<string, string>;
  nodeOptions?: string;
  preload: string[];
  settleMs: number;
  json: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cycles: 200, warmup: 3, hook: false, skip: [], env: {}, preload: [], settleMs: 3000, json: join(process.cwd(), '.bench', 'daemon-memory.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    if (a === '--hook') o.hook = true;
    else if ((a === '--cycles' || a === '--warmup') && next !== undefined && /^\d+$/.test(next)) o[a === '--cycles' ? 'cycles' : 'warmup'] = Number(argv[++i]);
    else if (a === '--skip' && next) o.skip.push(...(argv[++i] as string).split(',').filter(Boolean));
    else if (a === '--env' && next && /^[A-Z_][A-Z0-9_]*=/.test(next)) {
      const [name, ...value] = (argv[++i] as string).split('=');
      o.env[name as string] = value.join('=');
    } else if (a === '--node-options' && next !== undefined) o.nodeOptions = argv[++i] as string;
    else if (a === '--json' && next) o.json = argv[++i] as string;
    else if (a === '--preload' && next) o.preload.push(argv[++i] as string);
    else throw new Error(`daemon-memory bench: unknown or bad option "${a}" (--cycles N, --warmup W, --hook, --skip PATH,..., --env NAME=VALUE, --node-options TEXT, --preload FILE, --json FILE)`);
  }
  if (o.cycles < 10) throw new Error('daemon-memory bench: --cycles must be at least 10');
  return o;
}

const ROOT = process.cwd();
const JAILNET = join(ROOT, 'dist/bin/jailnet');
const RECORD_REQUESTS = join(__dirname, 'lib/record-requests.cjs');
const SUBNET = '10.88.0.0/16';
const JAIL = 'hk';
const MB = 1024 * 1024;

interface Recorded {
  method: string;
  path: string;
  body: string;
  status: number;
}

interface Recording {
  attach: Recorded[];
  detach: Recorded[];
}

const progress = (text: string) => process.stderr.write(`[daemon-memory bench] ${text}\n`);

// ---- memory ---------------------------------------------------------------------------------

/** Resident kB of the process by kind of mapping (/proc/PID/smaps). */
interface Mappings {
  /** The brk heap: glibc's main malloc arena. */
  brk: number;
  /** Anonymous mappings: V8's pages, glibc's other arenas and large mallocs, thread stacks. */
  anon: number;
  anonCount: number;
  /** Mappings of files (node's text, libraries, ICU data). */
  file: number;
  /** The same by file. */
  files: Record<string, number>;
}

function mappings(pid: number): Mappings {
  const out: Mappings = { brk: 0, anon: 0, anonCount: 0, file: 0, files: {} };
  let kind: 'brk' | 'anon' | 'file' | undefined;
  let file = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const name = (header[1] as string).trim();
      kind = name === '[heap]' ? 'brk' : name === '' ? 'anon' : name.startsWith('[') ? undefined : 'file';
      file = name;
      if (kind === 'anon') out.anonCount++;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) {
      out[kind] += Number(rss[1]);
      if (kind === 'file') out.files[file] = (out.files[file] ?? 0) + Number(rss[1]);
    }
  }
  return out;
}

function vmRssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface Memory {
  /** Idle: median of 3 samples after the settle period, MB. */
  rssMB: number;
  /** After a forced full GC. */
  gcRssMB: number;
  gc: GcReport;
  maps: Mappings;
}

async function daemonMemory(daemon: BenchDaemon, settleMs: number): Promise<Memory> {
  await new Promise((r) => setTimeout(r, settleMs));
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i) await new Promise((r) => setTimeout(r, 250));
    samples.push(vmRssKb(daemon.pid) / 1024);
  }
  const gc = await daemon.fullGc();
  return { rssMB: percentile(samples, 0.5), gcRssMB: vmRssKb(daemon.pid) / 1024, gc, maps: mappings(daemon.pid) };
}

// ---- the cycles -----------------------------------------------------------------------------

interface World {
  host: EmulatedHost;
  cliEnv: NodeJS.ProcessEnv;
  bundle: string;
}

const ociState = (w: World, status: string) => JSON.stringify({ ociVersion: '1.0.2', id: JAIL, status, pid: 4242, bundle: w.bundle, annotations: {} });

function hook(w: World, phase: 'create-runtime' | 'poststop'): void {
  const argv = phase === 'create-runtime' ? [JAILNET, 'hook', 'create-runtime', '-p', '8080:80'] : [JAILNET, 'hook', 'poststop'];
  const r = spawnSync(argv[0] as string, argv.slice(1), { env: w.cliEnv, input: ociState(w, phase === 'create-runtime' ? 'creating' : 'stopped'), encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`jailnet hook ${phase} exited with ${r.status ?? r.signal}: ${r.stderr.trim().slice(-3000)}`);
}

async function hookCycle(w: World): Promise<void> {
  await w.host.createJail(JAIL);
  hook(w, 'create-runtime');
  await w.host.removeJail(JAIL);
  hook(w, 'poststop');
}

async function replay(daemon: BenchDaemon, requests: Recorded[]): Promise<void> {
  for (const r of requests) {
    const got = await call(daemon.socket, r.method, r.path, r.body === '' ? undefined : JSON.parse(r.body));
    if (got.status !== r.status) throw new Error(`${r.method} ${r.path}: ${got.status} where the recorded cycle had ${r.status}: ${got.body.slice(0, 500)}`);
  }
}

async function replayCycle(w: World, daemon: BenchDaemon, rec: Recording): Promise<void> {
  await w.host.createJail(JAIL);
  await replay(daemon, rec.attach);
  await w.host.removeJail(JAIL);
  await replay(daemon, rec.detach);
}

const readRecorded = (dir: string): Recorded[] => {
  try {
    return readFileSync(join(dir, 'requests.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Recorded);
  } catch {
    return [];
  }
};

/** One real hook cycle against a recording daemon; the requests of its attach and of its detach. */
async function record(w: World, host: EmulatedHost, socketEnv: (socket: string) => NodeJS.ProcessEnv): Promise<Recording> {
  const recorder = new BenchDaemon({ netns: host.hostNs, env: host.env, flags: ['--reclaim-interval', '0'], preload: [RECORD_REQUESTS] });
  try {
    await recorder.start();
    w.cliEnv = socketEnv(recorder.socket);
    const skipped = readRecorded(recorder.dir).length; // the start's health checks
    await w.host.createJail(JAIL);
    hook(w, 'create-runtime');
    const afterAttach = readRecorded(recorder.dir).length;
    await w.host.removeJail(JAIL);
    hook(w, 'poststop');
    const all = readRecorded(recorder.dir);
    return { attach: all.slice(skipped, afterAttach), detach: all.slice(afterAttach) };
  } finally {
    await recorder.stop();
    recorder.destroy();
  }
}

/**
 * `jailnet network create default`, its plugins told never to start a jailnetd of their own: a
 * daemon started by the IPAM plugin would run outside the emulated host's namespace.
 */
function createNetwork(env: NodeJS.ProcessEnv): void {
  const created = spawnSync(JAILNET, ['network', 'create', 'default', '--subnet', SUBNET], { env, encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`jailnet network create: ${created.stderr}`);
  const file = join(env.JAILNET_CONF_DIR as string, 'default.conflist');
  let sections = 0;
  const noAutostart = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(noAutostart);
    if (v === null || typeof v !== 'object') return v;
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, noAutostart(x)]));
    if (o.socket === env.JAILNETD_SOCKET) {
      o.autostart = false;
      sections++;
    }
    return o;
  };
  const conflist = noAutostart(JSON.parse(readFileSync(file, 'utf8')));
  if (sections === 0) throw new Error(`${file} names no jailnetd socket ${env.JAILNETD_SOCKET}`);
  writeFileSync(file, JSON.stringify(conflist, null, 2));
}

// ---- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  const started = Date.now();
  const loadAtStart = loadavg()[0] as number;
  const host = await createEmulatedHost();
  const work = runTempDir('jailnet-bench-dmem-');
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  let daemon: BenchDaemon | undefined;
  try {
    await enablePfWithHooks(host);
    const bundle = join(work, 'bundle');
    mkdirSync(join(bundle, 'rootfs', 'etc'), { recursive: true });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', root: { path: 'rootfs' } }));
    let networks = 0;
    /** The CLI's environment for a daemon, with the network `default` made for its socket. */
    const socketEnv = (socket: string): NodeJS.ProcessEnv => {
      const env = jailnetCliEnv(host, socket, work, { confDir: join(work, `networks-${++networks}`) });
      delete env.JAILNET_LOG_FILE;
      delete env.JAILNET_LOG_LEVEL;
      createNetwork(env);
      return env;
    };
    const w: World = { host, cliEnv: {}, bundle };
    let rec: Recording | undefined;
    if (!o.hook) {
      progress('recording one hook cycle');
      rec = await record(w, host, socketEnv);
      const keep = (r: Recorded) => !o.skip.some((s) => r.path.replace(/^\/v1\//, '').startsWith(s));
      rec = { attach: rec.attach.filter(keep), detach: rec.detach.filter(keep) };
      if (rec.attach.length === 0) throw new Error('no request of the attach was recorded');
    }

    const extraEnv = { ...o.env };
    const log = join(work, 'jailnetd.log');
    writeFileSync(log, '');
    const logFd = openSync(log, 'a');
    if (o.nodeOptions !== undefined) process.env.BENCH_NODE_OPTIONS = o.nodeOptions;
    daemon = new BenchDaemon({ netns: host.hostNs, env: host.env, flags: ['--reclaim-interval', '0'], stderr: logFd, gcOnSignal: true, extraEnv, preload: o.preload });
    await daemon.start();
    closeSync(logFd);
    w.cliEnv = socketEnv(daemon.socket);
    const d = daemon;
    const cycle = () => (rec ? replayCycle(w, d, rec) : hookCycle(w));
    const atStart = await daemonMemory(d, 0);
    progress(`warm-up: ${o.warmup} cycle(s)`);
    for (let i = 0; i < o.warmup; i++) await cycle();
    const before = await daemonMemory(d, o.settleMs);
    progress(`${o.cycles} ${o.hook ? 'hook' : 'replayed'} cycles`);
    const during: { cycle: number; rssMB: number }[] = [];
    const loopStarted = Date.now();
    for (let i = 0; i < o.cycles; i++) {
      await cycle();
      if ((i + 1) % Math.round(o.cycles / 10) === 0) {
        during.push({ cycle: i + 1, rssMB: vmRssKb(d.pid) / 1024 });
        progress(`cycle ${i + 1}/${o.cycles}, ${((Date.now() - loopStarted) / 1000).toFixed(0)} s, RSS ${fmt(vmRssKb(d.pid) / 1024)} MB`);
      }
    }
    const loopSeconds = (Date.now() - loopStarted) / 1000;
    const after = await daemonMemory(d, o.settleMs);
    // What the one GC above leaves for later: a second one at once, then one after 10 s more idle
    // (V8's memory reducer runs on its own after some seconds without allocation).
    await d.fullGc();
    const afterSecondGcMB = vmRssKb(d.pid) / 1024;
    await new Promise((r) => setTimeout(r, 10_000));
    const idle10MB = vmRssKb(d.pid) / 1024;
    const idle10Gc = await d.fullGc();
    const idle10GcMB = vmRssKb(d.pid) / 1024;
    const daemonNodeOptions = readFileSync(`/proc/${d.pid}/environ`, 'utf8').split('\0').filter((v) => /^(NODE_OPTIONS|MALLOC_)/.test(v));

    const p = (s = '') => process.stdout.write(`${s}\n`);
    const growth = (a: number, b: number) => `${((b / a - 1) * 100).toFixed(1)}%`;
    p(`jailnetd's memory over ${o.cycles} ${o.hook ? 'hook cycles' : 'replayed cycles'} (${o.warmup} warm-up), ${loopSeconds.toFixed(0)} s; load ${loadAtStart.toFixed(1)} -> ${(loadavg()[0] as number).toFixed(1)}`);
    if (rec) p(`requests per cycle: attach ${rec.attach.map((r) => r.path.replace(/^\/v1\//, '')).join(', ')}; detach ${rec.detach.map((r) => r.path.replace(/^\/v1\//, '')).join(', ')}${o.skip.length ? ` (left out: ${o.skip.join(', ')})` : ''}`);
    p(`daemon environment: ${daemonNodeOptions.join(' ')}`);
    const mu = (m: Memory, k: keyof NodeJS.MemoryUsage) => fmt(m.gc.memoryUsage[k] / MB);
    const space = (m: Memory, name: string) => m.gc.heapSpaces.find((s) => s.space_name === name);
    const rows: [string, (m: Memory) => string][] = [
      ['VmRSS MB, idle', (m) => fmt(m.rssMB)],
      ['VmRSS MB, after a full GC', (m) => fmt(m.gcRssMB)],
      ['  brk heap (glibc main arena) MB', (m) => fmt(m.maps.brk / 1024)],
      ['  anonymous mappings MB (count)', (m) => `${fmt(m.maps.anon / 1024)} (${m.maps.anonCount})`],
      ['  file mappings MB', (m) => fmt(m.maps.file / 1024)],
      ['V8 heap used / total MB', (m) => `${mu(m, 'heapUsed')} / ${mu(m, 'heapTotal')}`],
      ['V8 old / code / new space physical MB', (m) => ['old_space', 'code_space', 'new_space'].map((n) => fmt((space(m, n)?.physical_space_size ?? NaN) / MB)).join(' / ')],
      ['external / ArrayBuffers MB', (m) => `${mu(m, 'external')} / ${mu(m, 'arrayBuffers')}`],
    ];
    p(table(['', 'at start', `after ${o.warmup} warm-up`, `after ${o.cycles} cycles`], rows.map(([name, f]) => [name, f(atStart), f(before), f(after)])));
    const files = Object.keys(after.maps.files).sort((a, b) => (after.maps.files[b] ?? 0) - (after.maps.files[a] ?? 0)).slice(0, 4);
    p(`file mappings, MB at start / after warm-up / after the cycles: ${files.map((f) => `${f} ${[atStart, before, after].map((m) => fmt((m.maps.files[f] ?? 0) / 1024)).join(' / ')}`).join('; ')}`);
    p(`during the cycles (no settle, no GC), cycle: RSS MB: ${during.map((s) => `${s.cycle}: ${fmt(s.rssMB)}`).join(', ')}`);
    p(`after the cycles: RSS after a second GC ${fmt(afterSecondGcMB)} MB; 10 s later ${fmt(idle10MB)} MB, after a GC then ${fmt(idle10GcMB)} MB (V8 old space ${fmt((idle10Gc.heapSpaces.find((x) => x.space_name === 'old_space')?.physical_space_size ?? NaN) / MB)} MB)`);
    p(`growth over the cycles: RSS after a GC ${growth(before.gcRssMB, after.gcRssMB)} (${fmt(before.gcRssMB)} -> ${fmt(after.gcRssMB)} MB), idle ${growth(before.rssMB, after.rssMB)}; target (issue 13): at most 10%`);
    mkdirSync(dirname(o.json), { recursive: true });
    writeFileSync(o.json, JSON.stringify({ options: o, recording: rec, atStart, before, during, after, afterSecondGcMB, idle10MB, idle10GcMB, loopSeconds, seconds: (Date.now() - started) / 1000 }, null, 1));
  } finally {
    await daemon?.stop();
    daemon?.destroy();
    await host.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`daemon-memory bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
