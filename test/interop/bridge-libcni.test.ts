import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { libcniClient } from '../helpers/libcni';
import { PLUGIN_DIR } from '../helpers/plugin-process';

// bridge + jailnet-ipam under libcni (the library of containerd, nerdctl, podman), with
// CNI_NETNS = the jail's name, on the emulated FreeBSD host.

const run = promisify(execFile);
let host: EmulatedHost;
let ipamd: TestDaemon;
let client: string;
let dir: string;

beforeAll(async () => {
  client = libcniClient();
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env, { netns: host.hostNs });
  dir = mkdtempSync(join(tmpdir(), 'jailnet-interop-bridge-'));
  for (const j of ['web', 'db']) await host.createJail(j);
}, 60_000);
afterAll(async () => {
  await ipamd?.stop();
  await host?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ ...host.env, CNI_PATH: PLUGIN_DIR, CNI_CACHE_DIR: join(dir, 'cache'), JAILNET_LOG_FILE: '/dev/null', JAILNET_RUN_DIR: join(host.dir, 'run'), JAILNET_COMMAND_TIMEOUT: '300' });

function conflist(plugin: 'bridge' | 'epair', subnet: string): string {
  const file = join(dir, `${plugin}.conflist`);
  const main = plugin === 'bridge' ? { type: 'bridge', bridge: 'jailnet0', isDefaultGateway: true, capabilities: { mac: true } } : { type: 'epair' };
  writeFileSync(file, JSON.stringify({ cniVersion: '1.0.0', name: `interop-${plugin}`, plugins: [{ ...main, ipam: ipamd.ipam([[{ subnet }]]) }] }));
  return file;
}

test.each(['bridge', 'epair'] as const)('libcni validates %s (VERSION of the plugin and of its IPAM plugin)', async (plugin) => {
  const r = await run(client, ['validate', conflist(plugin, '10.50.0.0/24')], { env: env() });
  expect(JSON.parse(r.stdout)).toEqual(plugin === 'bridge' ? ['mac'] : []);
});

test('libcni ADD, CHECK, DEL of bridge: jails talk, runtimeConfig.mac applied, cache cleared', async () => {
  const file = conflist('bridge', '10.51.0.0/24');
  const added = await run(client, ['add', file, 'web', 'web', 'eth0', JSON.stringify({ mac: '02:aa:bb:cc:dd:01' })], { env: env() });
  const web = JSON.parse(added.stdout) as { interfaces: { name: string; mac?: string; sandbox?: string }[]; ips: { address: string }[] };
  expect(web.interfaces[2]).toEqual({ name: 'eth0', mac: '02:aa:bb:cc:dd:01', sandbox: 'web' });
  const dbOut = await run(client, ['add', file, 'db', 'db', 'eth0'], { env: env() });
  const db = JSON.parse(dbOut.stdout) as { ips: { address: string }[] };
  const dbAddress = db.ips[0]?.address.split('/')[0] as string;
  expect((await host.jexec('web', ['/usr/bin/ping', '-c', '1', '-W', '2', dbAddress])).code).toBe(0);

  await run(client, ['check', file, 'web', 'web', 'eth0'], { env: env() });
  await run(client, ['del', file, 'web', 'web', 'eth0'], { env: env() });
  await run(client, ['del', file, 'db', 'db', 'eth0'], { env: env() });
  expect(readdirSync(join(dir, 'cache/results'))).toEqual([]);
  expect(await ipamd.leases('interop-bridge')).toEqual([]);
  expect((await host.interfaces()).host.map((i) => i.name).filter((n) => n.startsWith('jn'))).toEqual([]);
});
