import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { dig, hostResolvConf, startWorldDns } from './helpers';
import { enablePfWithHooks } from '../helpers/pf-hooks';

/**
 * No input on the DNS port stops jailnetd's DNS server. From one jail, random bytes and mutated
 * queries (lying counts, compression loops, opcodes, zone transfers, answers) over udp, and
 * over tcp frames whose length lies, split and stalled writes and bursts of connections, while
 * a normal client in another jail asks its neighbour's name over udp and tcp and must get the
 * right answer every time; from outside, the same gets nothing but REFUSED. Seeded:
 * JAILNET_FUZZ_SEED=<seed> replays a run (the seed is in the suite's title).
 */

const SEED = Number(process.env.JAILNET_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Messages sent by the fuzzer (a few seconds on a loaded 2-core machine). */
const CASES = 4000;
const CLIENT = join(__dirname, 'fuzz-client.cjs');
const CODEC = join(__dirname, '../../node_modules/dns-packet');
const GW = '10.77.0.1';

let host: EmulatedHost;
let ipamd: TestDaemon;
let cli: Cli;
let resolv: ReturnType<typeof hostResolvConf>;
const stopDir = mkdtempSync(join(tmpdir(), 'jailnet-dns-fuzz-'));
const ips: Record<string, string> = {};

beforeAll(async () => {
  host = await createEmulatedHost();
  resolv = hostResolvConf(host);
  ipamd = await startJailnetd(host.env, { netns: host.hostNs, args: ['--resolv-conf', resolv.path] });
  cli = jailnetCli(host, ipamd);
  await enablePfWithHooks(host);
  await startWorldDns(host);
  await cli.ok(['network', 'create', 'fuzz', '--subnet', '10.77.0.0/24']);
  for (const j of ['fz', 'ok']) {
    await host.createJail(j);
    const out = JSON.parse(await cli.ok(['attach', j, '-n', 'fuzz', '--json'])) as { result: { ips: { address: string }[] } }[];
    ips[j] = out[0]?.result.ips[0]?.address.split('/')[0] as string;
  }
}, 120_000);

afterAll(async () => {
  cli?.cleanup();
  await ipamd?.stop();
  await host?.destroy();
  resolv?.cleanup();
  rmSync(stopDir, { recursive: true, force: true });
});

test(`the DNS port survives any input (seed ${SEED})`, async () => {
  const run = (jail: string, args: string[]) => host.jexec(jail, [process.execPath, CLIENT, ...args], { timeoutMs: 120_000 });
  // The normal client asks at least 20 times, and on until the fuzzer is done.
  const stop = join(stopDir, 'fuzzed');
  const asked = run('ok', ['client', CODEC, GW, 'fz.fuzz', ips.fz as string, '20', stop]);
  const f = await run('fz', ['fuzz', CODEC, GW, String(SEED), String(CASES)]);
  writeFileSync(stop, '');
  const c = await asked;
  expect(JSON.parse(f.stdout)).toEqual({ sent: expect.any(Number) });
  const normal = JSON.parse(c.stdout) as { asked: number; right: number; wrong: unknown[] };
  expect(normal.wrong).toEqual([]);
  expect(normal.right).toBe(normal.asked);

  // Alive and answering: the API, and a query from each jail.
  expect((await ipamd.get('/v1/health')).status).toBe(200);
  expect((await dig(host, 'fz', GW, ['ok.fuzz'])).answers).toEqual([`A ${ips.ok}`]);
  expect((await dig(host, 'ok', GW, ['+tcp', 'fz'])).answers).toEqual([`A ${ips.fz}`]);
  // What it made of the input is counted.
  const metrics = (await ipamd.get('/v1/metrics')).body;
  expect(metrics).toMatch(/jailnetd_dns_queries_total\{outcome="malformed"\} [1-9]/);
  expect(metrics).toMatch(/jailnetd_dns_queries_total\{outcome="local"\} [1-9]/);
}, 180_000);

test('from outside the network the same input gets REFUSED or nothing, and no name', async () => {
  await host.worldExec(['ip', 'route', 'replace', '10.77.0.0/24', 'via', host.em0Address]);
  const before = (await ipamd.get('/v1/metrics')).body.match(/outcome="refused"\} (\d+)/)?.[1] ?? '0';
  const f = await host.worldExec([process.execPath, CLIENT, 'fuzz', CODEC, GW, String(SEED + 1), '1500'], { timeoutMs: 120_000 });
  expect(JSON.parse(f.stdout)).toEqual({ sent: expect.any(Number) });
  const refused = Number((await ipamd.get('/v1/metrics')).body.match(/outcome="refused"\} (\d+)/)?.[1] ?? '0');
  expect(refused).toBeGreaterThan(Number(before));
  writeFileSync(join(stopDir, 'now'), '');
  const c = await host.worldExec([process.execPath, CLIENT, 'client', CODEC, GW, 'fz.fuzz', ips.fz as string, '5', join(stopDir, 'now')], { timeoutMs: 60_000 });
  expect((JSON.parse(c.stdout) as { right: number }).right).toBe(0);
  // The positive control.
  expect((await dig(host, 'ok', GW, ['fz'])).answers).toEqual([`A ${ips.fz}`]);
});
