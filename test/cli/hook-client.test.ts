import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { JAILNET, jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// The hook as a thin client of jailnetd (issue 13), shown by what it does, not by timing it:
// which of Node's modules the client loads, and which way the chain jailnetd runs for it
// reaches the daemon (jailnetd's metrics count HTTP and in-process requests apart).

let host: EmulatedHost;
let ipamd: TestDaemon;
let cli: Cli;
let dir: string;
let recorder: string;

beforeAll(async () => {
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env, { netns: host.hostNs });
  cli = jailnetCli(host, ipamd);
  await enablePfWithHooks(host);
  await cli.ok(['network', 'create', 'default', '--subnet', '10.88.0.0/16']);
  dir = mkdtempSync(join(tmpdir(), 'jailnet-hook-client-'));
  // Preloaded into jailnet (NODE_OPTIONS): writes the built-in modules the process loaded to a file at exit.
  recorder = join(dir, 'record-modules.cjs');
  writeFileSync(recorder, "process.on('exit', () => require('fs').writeFileSync(process.env.RECORD_MODULES_TO, JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)))));\n");
}, 60_000);
afterAll(async () => {
  cli?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await ipamd?.stop();
  await host?.destroy();
});

const state = (id: string) => JSON.stringify({ ociVersion: '1.0.2', id, status: 'creating', pid: 1, bundle: '/nonexistent', annotations: {} });

/** `jailnet ARGS`, with the built-in modules it loaded. */
async function runRecorded(args: string[], stdin = ''): Promise<{ code: number; stderr: string; modules: string[] }> {
  const out = join(dir, `modules-${Math.random().toString(36).slice(2)}.json`);
  const env = { ...cli.env, NODE_OPTIONS: `--require ${recorder}`, RECORD_MODULES_TO: out };
  const r = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    const child = spawn(JAILNET, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    child.stdin.end(stdin);
  });
  return { ...r, modules: JSON.parse(readFileSync(out, 'utf8')) as string[] };
}

/** jailnetd's request counters: `transport` http or in-process, by route. */
async function requestCounts(): Promise<{ http: Map<string, number>; inProcess: Map<string, number> }> {
  const text = (await ipamd.get('/v1/metrics')).body;
  const counts = { http: new Map<string, number>(), inProcess: new Map<string, number>() };
  for (const m of text.matchAll(/^jailnetd_(http|in_process)_requests_total\{route="([^"]+)",status="\d+"\} (\d+)$/gm)) {
    const into = m[1] === 'http' ? counts.http : counts.inProcess;
    into.set(m[2] as string, (into.get(m[2] as string) ?? 0) + Number(m[3]));
  }
  return counts;
}
const grew = (after: Map<string, number>, before: Map<string, number>, route: string) => (after.get(route) ?? 0) - (before.get(route) ?? 0);

test('a hook call served by jailnetd loads no node:http; --help loads no socket module', async () => {
  await host.createJail('light');
  const attach = await runRecorded(['hook', 'create-runtime', '-n', 'default', '--no-resolv-conf'], state('light'));
  expect(attach).toMatchObject({ code: 0, stderr: '' });
  expect(attach.modules).toContain('net');
  expect(attach.modules).not.toContain('http');
  // The core (the plugins' code, compiled when jailnetd does not answer) was not needed.
  expect(attach.modules).not.toContain('zlib');
  expect((await ipamd.leases('default')).map((l) => l.containerID)).toEqual(['light']);
  await host.removeJail('light');
  const detach = await runRecorded(['hook', 'poststop'], state('light'));
  expect(detach).toMatchObject({ code: 0, stderr: '' });
  expect(detach.modules).not.toContain('http');
  expect(await ipamd.leases('default')).toEqual([]);

  const help = await runRecorded(['--help']);
  expect(help.code).toBe(0);
  expect(help.modules).not.toContain('net');
  expect(help.modules).not.toContain('http');
  // Control: the recorder sees what a command loads (the command that runs a chain itself loads the core).
  await host.createJail('heavy');
  const local = await runRecorded(['attach', 'heavy', '-n', 'default']);
  expect(local).toMatchObject({ code: 0 });
  expect(local.modules).toContain('zlib');
  await cli.ok(['detach', 'heavy', '-n', 'default']);
  await host.removeJail('heavy');
}, 120_000);

test("the chain jailnetd runs for the hook reaches jailnetd in process; the CLI's own chain over HTTP", async () => {
  await host.createJail('inproc');
  const before = await requestCounts();
  await cli.ok(['hook', 'create-runtime', '-n', 'default', '-p', '8095:80', '--no-resolv-conf'], state('inproc'));
  const after = await requestCounts();
  expect(grew(after.http, before.http, '/v1/hook')).toBe(1);
  for (const route of ['/v1/allocate', '/v1/nat/add', '/v1/ports/publish']) {
    expect({ route, inProcess: grew(after.inProcess, before.inProcess, route) }).toEqual({ route, inProcess: 1 });
    expect({ route, http: grew(after.http, before.http, route) }).toEqual({ route, http: 0 });
  }
  // The same answers as over HTTP: the lease and the published port are there.
  expect((await ipamd.leases('default')).map((l) => l.containerID)).toEqual(['inproc']);
  await host.removeJail('inproc');
  await cli.ok(['hook', 'poststop'], state('inproc'));
  const detached = await requestCounts();
  expect(grew(detached.inProcess, after.inProcess, '/v1/release')).toBe(1);
  expect(await ipamd.leases('default')).toEqual([]);

  // Control: `jailnet attach` runs its chain in its own process, whose calls go over the socket.
  await host.createJail('overhttp');
  const b2 = await requestCounts();
  await cli.ok(['attach', 'overhttp', '-n', 'default']);
  const a2 = await requestCounts();
  expect(grew(a2.http, b2.http, '/v1/allocate')).toBe(1);
  expect(grew(a2.inProcess, b2.inProcess, '/v1/allocate')).toBe(0);
  await cli.ok(['detach', 'overhttp', '-n', 'default']);
  await host.removeJail('overhttp');
}, 120_000);

test('a refusal reaches the hook through jailnetd as from the socket: code, message, nothing left', async () => {
  await host.createJail('refused');
  // 10.99.0.5 is outside the network's subnet: IPAM refuses it (address-not-allowed, code 7).
  const r = await cli.run(['hook', 'create-runtime', '-n', 'default', '--ip', '10.99.0.5', '--no-resolv-conf'], state('refused'));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/10\.99\.0\.5/);
  expect(await ipamd.leases('default')).toEqual([]);
  await host.removeJail('refused');
}, 60_000);
