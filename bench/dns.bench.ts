/**
 * jailnetd's DNS server under load, on the emulated host (root): 16 clients (four jails of a
 * network, four UDP clients each, one query after another) ask a jail's name, answered by
 * jailnetd from its names, and an outside name, which jailnetd forwards to dnsmasq in the
 * "Internet" namespace. Each is compared with the same query sent straight to that dnsmasq
 * (which knows an equivalent of the jail's name, so both answer one A record), in the same run,
 * the phases interleaved. Reported: queries/s and latency percentiles, each as a ratio to the
 * straight path. jailnetd's per-client rate limit is off (dns.rateLimit 0): with the default
 * (1000/s per jail address) four jails would measure the limit (BENCH_DNS_RATE_LIMIT sets it).
 *   BENCH_DNS_SECONDS (default 4, per phase), BENCH_DNS_ROUNDS (default 2)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulatedHost, type EmulatedHost } from '../test/harness/emulated-host';
import { jailnetCli } from '../test/helpers/jailnet-cli';
import { startJailnetd } from '../test/helpers/jailnetd';
import { hostResolvConf, startWorldDns, WORLD_ZONE } from '../test/dns/helpers';
import { enablePfWithHooks } from '../test/helpers/pf-hooks';

const SECONDS = Number(process.env.BENCH_DNS_SECONDS ?? 4);
const RATE_LIMIT = Number(process.env.BENCH_DNS_RATE_LIMIT ?? 0);
const ROUNDS = Number(process.env.BENCH_DNS_ROUNDS ?? 2);
const JAILS = ['b1', 'b2', 'b3', 'b4'];
const CLIENTS_PER_JAIL = 4;
const GW = '10.66.0.1';
const LOAD = join(process.cwd(), 'bench/lib/dns-load.cjs');
const CODEC = join(process.cwd(), 'node_modules/dns-packet');

interface Phase {
  answers: number;
  timeouts: number;
  wrong: number;
  latencies: number[];
  seconds: number;
}

async function load(host: EmulatedHost, server: string, name: string): Promise<Phase> {
  const runs = await Promise.all(JAILS.map((j) => host.jexec(j, [process.execPath, LOAD, CODEC, server, name, String(CLIENTS_PER_JAIL), String(SECONDS * 1000)], { timeoutMs: (SECONDS + 30) * 1000 })));
  const phase: Phase = { answers: 0, timeouts: 0, wrong: 0, latencies: [], seconds: SECONDS };
  for (const r of runs) {
    const out = JSON.parse(r.stdout) as { latencies: number[]; timeouts: number; wrong: number };
    phase.answers += out.latencies.length;
    phase.timeouts += out.timeouts;
    phase.wrong += out.wrong;
    phase.latencies.push(...out.latencies);
  }
  return phase;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const merge = (ps: Phase[]): Phase => ({ answers: ps.reduce((n, p) => n + p.answers, 0), timeouts: ps.reduce((n, p) => n + p.timeouts, 0), wrong: ps.reduce((n, p) => n + p.wrong, 0), latencies: ps.flatMap((p) => p.latencies), seconds: ps.reduce((n, p) => n + p.seconds, 0) });

function report(what: string, via: Phase, direct: Phase): void {
  const qps = (p: Phase) => p.answers / p.seconds;
  const line = (label: string, p: Phase) =>
    `  ${label.padEnd(18)} ${qps(p).toFixed(0).padStart(6)} queries/s   p50 ${pct(p.latencies, 0.5).toFixed(2)} ms   p90 ${pct(p.latencies, 0.9).toFixed(2)} ms   p99 ${pct(p.latencies, 0.99).toFixed(2)} ms   (${p.timeouts} timeouts, ${p.wrong} wrong)`;
  console.log(`${what}`);
  console.log(line('via jailnetd', via));
  console.log(line('straight to dnsmasq', direct));
  console.log(
    `  ratio jailnetd/straight: queries/s ${(qps(via) / qps(direct)).toFixed(2)}, p50 ${(pct(via.latencies, 0.5) / pct(direct.latencies, 0.5)).toFixed(2)}, p90 ${(pct(via.latencies, 0.9) / pct(direct.latencies, 0.9)).toFixed(2)}, p99 ${(pct(via.latencies, 0.99) / pct(direct.latencies, 0.99)).toFixed(2)}`,
  );
}

async function main(): Promise<void> {
  const host = await createEmulatedHost();
  const resolv = hostResolvConf(host, '');
  const confDir = mkdtempSync(join(tmpdir(), 'jailnet-bench-dns-'));
  const config = join(confDir, 'jailnetd.json');
  writeFileSync(config, JSON.stringify({ dns: { rateLimit: RATE_LIMIT } }), { mode: 0o600 });
  const ipamd = await startJailnetd(host.env, { netns: host.hostNs, args: ['--config', config, '--resolv-conf', resolv.path, '--log-level', 'warn'] });
  const cli = jailnetCli(host, ipamd);
  try {
    // pf with jailnet's hooks: NAT takes the straight path out, the DNS anchor lets queries in.
    await enablePfWithHooks(host);
    await cli.ok(['network', 'create', 'bench', '--subnet', '10.66.0.0/24']);
    for (const j of JAILS) {
      await host.createJail(j);
      await cli.ok(['attach', j, '-n', 'bench']);
    }
    // The straight path's equivalent of the jail's name: the same shape of answer.
    const b1 = (await ipamd.leases('bench')).find((l) => l.containerID === 'b1')?.ips[0]?.address.split('/')[0] as string;
    await startWorldDns(host, [`--host-record=b1.bench,${b1}`]);
    const local = { via: [] as Phase[], direct: [] as Phase[] };
    const forwarded = { via: [] as Phase[], direct: [] as Phase[] };
    // Warm-up: the codec loaded, ARP and conntrack entries made.
    await load(host, GW, 'b1.bench');
    await load(host, host.worldAddress, WORLD_ZONE.www.name);
    for (let round = 0; round < ROUNDS; round++) {
      local.direct.push(await load(host, host.worldAddress, 'b1.bench'));
      local.via.push(await load(host, GW, 'b1.bench'));
      forwarded.direct.push(await load(host, host.worldAddress, WORLD_ZONE.www.name));
      forwarded.via.push(await load(host, GW, WORLD_ZONE.www.name));
    }
    console.log(`DNS: ${JAILS.length * CLIENTS_PER_JAIL} clients (${JAILS.length} jails x ${CLIENTS_PER_JAIL}), ${ROUNDS} rounds of ${SECONDS} s per phase, interleaved`);
    report("a jail's name (jailnetd answers from its names)", merge(local.via), merge(local.direct));
    report('an outside name (jailnetd forwards to dnsmasq)', merge(forwarded.via), merge(forwarded.direct));
    const metrics = (await ipamd.get('/v1/metrics')).body;
    const limited = metrics.match(/jailnetd_dns_queries_total\{outcome="ratelimited"\} (\d+)/)?.[1] ?? '0';
    console.log(`jailnetd's per-client rate limit: ${RATE_LIMIT || 'off'} (${limited} queries dropped)`);
  } finally {
    cli.cleanup();
    await ipamd.stop();
    await host.destroy();
    resolv.cleanup();
    rmSync(confDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
