import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { libcniClient } from '../helpers/libcni';
import { TEST_PLUGIN_DIR } from '../helpers/plugin-process';

// The shared dispatcher under libcni, the library of containerd, nerdctl and podman: VERSION
// validation, a chained conflist with delegation, prevResult, the result cache, CHECK and DEL.

const run = promisify(execFile);
let client: string;
let dir: string;

beforeAll(() => {
  client = libcniClient();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jailnet-interop-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function conflist(version: string, record: string): string {
  const file = join(dir, 'net.conflist');
  writeFileSync(
    file,
    JSON.stringify({
      cniVersion: version,
      name: 'interop',
      plugins: [
        { type: 'delegator', ipam: { type: 'fixture-ipam', record, address: '10.99.0.9/24' } },
        { type: 'noop' },
      ],
    }),
  );
  return file;
}

const env = () => ({ PATH: process.env.PATH ?? '', CNI_PATH: TEST_PLUGIN_DIR, CNI_CACHE_DIR: join(dir, 'cache'), JAILNET_LOG_FILE: '/dev/null' });

test.each(['0.4.0', '1.0.0'])('libcni validates, adds, checks and deletes a chained %s conflist', async (version) => {
  const record = join(dir, 'ipam.jsonl');
  const file = conflist(version, record);
  const validated = await run(client, ['validate', file], { env: env() });
  expect(JSON.parse(validated.stdout)).toEqual([]);

  const added = await run(client, ['add', file, 'ctr1', 'jail1', 'eth0'], { env: env() });
  const result = JSON.parse(added.stdout) as { cniVersion: string; ips: { address: string; interface: number }[] };
  expect(result.cniVersion).toBe(version);
  expect(result.ips[0]).toMatchObject({ address: '10.99.0.9/24', interface: 0 });

  // libcni cached the final result where runtimes find it.
  const cached = JSON.parse(readFileSync(join(dir, 'cache/results/interop-ctr1-eth0'), 'utf8')) as { kind: string; result: object };
  expect(cached.kind).toBe('cniCacheV1');

  await run(client, ['check', file, 'ctr1', 'jail1', 'eth0'], { env: env() });
  await run(client, ['del', file, 'ctr1', 'jail1', 'eth0'], { env: env() });
  expect(readdirSync(join(dir, 'cache/results'))).toEqual([]);

  // The IPAM plugin saw ADD, CHECK (with the cached result as prevResult) and DEL, with libcni's env.
  const calls = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { command: string; env: Record<string, string>; stdin: string });
  expect(calls.map((c) => c.command)).toEqual(['ADD', 'CHECK', 'DEL']);
  expect(calls[0]?.env).toMatchObject({ CNI_CONTAINERID: 'ctr1', CNI_NETNS: 'jail1', CNI_IFNAME: 'eth0' });
  expect(JSON.parse(calls[1]?.stdin ?? '{}')).toMatchObject({ name: 'interop', cniVersion: version, prevResult: { ips: [{ address: '10.99.0.9/24' }] } });
});

test('libcni reports a plugin error with its code and message', async () => {
  const file = join(dir, 'bad.conflist');
  writeFileSync(file, JSON.stringify({ cniVersion: '1.0.0', name: 'interop', plugins: [{ type: 'delegator', ipam: { type: 'fixture-ipam', fail: { code: 102, msg: 'pool exhausted' } } }] }));
  const err = (await run(client, ['add', file, 'ctr1', 'jail1', 'eth0'], { env: env() }).catch((e: unknown) => e)) as { stderr: string };
  expect(err.stderr).toContain('pool exhausted');
});
