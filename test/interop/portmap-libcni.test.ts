import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { libcniClient } from '../helpers/libcni';
import { PLUGIN_DIR } from '../helpers/plugin-process';
import { portmapAnchor } from '../../src/pf/anchors';
import { expectFailure } from '../helpers/reach';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// A conflist bridge + portmap + nat under libcni (the library of containerd, nerdctl, podman):
// the portMappings capability reaches portmap as runtimeConfig, prevResult is chained, DEL runs
// in reverse order with the cached result, on the emulated FreeBSD host with real packets.

const run = promisify(execFile);
let host: EmulatedHost;
let ipamd: TestDaemon;
let client: string;
let dir: string;
const NET = 'interop-pm';

beforeAll(async () => {
  client = libcniClient();
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env, { netns: host.hostNs });
  dir = mkdtempSync(join(tmpdir(), 'jailnet-interop-portmap-'));
  await enablePfWithHooks(host);
  await host.createJail('web');
  await host.startJailServer('web', { proto: 'tcp', port: 80 });
  await host.startWorldServer({ proto: 'tcp', port: 8081 });
}, 120_000);
afterAll(async () => {
  await ipamd?.stop();
  await host?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ ...host.env, CNI_PATH: PLUGIN_DIR, CNI_CACHE_DIR: join(dir, 'cache'), JAILNET_LOG_FILE: '/dev/null', JAILNET_RUN_DIR: join(host.dir, 'run'), JAILNET_COMMAND_TIMEOUT: '300' });

function conflist(): string {
  const file = join(dir, 'pm.conflist');
  writeFileSync(
    file,
    JSON.stringify({
      cniVersion: '1.0.0',
      name: NET,
      plugins: [
        { type: 'bridge', bridge: 'jailnet0', isDefaultGateway: true, ipam: ipamd.ipam([[{ subnet: '10.52.0.0/24' }]]) },
        { type: 'portmap', capabilities: { portMappings: true }, socket: ipamd.socket, autostart: false },
        { type: 'nat', socket: ipamd.socket, autostart: false },
      ],
    }),
  );
  return file;
}
const CAPS = JSON.stringify({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });

test('libcni validates the conflist: portmap declares portMappings', async () => {
  const r = await run(client, ['validate', conflist()], { env: env() });
  expect(JSON.parse(r.stdout)).toEqual(['portMappings']);
});

test('libcni ADD, CHECK, DEL of bridge + portmap + nat', async () => {
  const file = conflist();
  const added = await run(client, ['add', file, 'web', 'web', 'eth0', CAPS], { env: env() });
  const result = JSON.parse(added.stdout) as { interfaces: { name: string }[]; ips: { address: string }[] };
  expect(result.interfaces.map((i) => i.name)).toEqual(['jailnet0', expect.stringMatching(/^jn/), 'eth0']);
  const web = result.ips[0]?.address.split('/')[0] as string;

  // portmap: the world reaches the jail's service; nat: the jail reaches the world from em0.
  expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8080 })).toMatchObject({ ok: true, reply: { peer: host.worldAddress, local: web, localPort: 80 } });
  expect(await host.request('web', { proto: 'tcp', address: host.worldAddress, port: 8081 })).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  const anchor = portmapAnchor(NET, 'web', 'eth0');
  expect(await host.runOk('pfctl', ['-a', anchor, '-s', 'nat'])).toContain(`rdr pass on ! lo0 inet proto tcp from any to (em0) port = http-alt tag jailnet_rdr -> ${web} port 80`);

  await run(client, ['check', file, 'web', 'web', 'eth0', CAPS], { env: env() });
  // CHECK through libcni fails when the published port's rules are gone.
  await host.runOk('pfctl', ['-a', anchor, '-F', 'nat']);
  await expect(run(client, ['check', file, 'web', 'web', 'eth0', CAPS], { env: env() })).rejects.toMatchObject({ stderr: expect.stringContaining(`anchor ${anchor} lacks`) });

  await run(client, ['del', file, 'web', 'web', 'eth0', CAPS], { env: env() });
  expect(readdirSync(join(dir, 'cache/results'))).toEqual([]);
  expect(await ipamd.leases(NET)).toEqual([]);
  expect(JSON.parse((await ipamd.get(`/v1/ports?network=${NET}`)).body)).toEqual({ reservations: [] });
  expect((await host.runOk('pfctl', ['-s', 'Anchors'])).split('\n').map((l) => l.trim())).not.toContain(anchor);
  expect((await host.run('pfctl', ['-a', `jailnet/nat-${NET}`, '-t', 'masq', '-T', 'show'])).stdout.trim()).toBe('');
  expectFailure(await host.request('world', { proto: 'tcp', address: host.em0Address, port: 8080, timeoutMs: 1500 }), 'refused');
});
