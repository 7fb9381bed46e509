import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { DAEMON_MALLOC_ARENA_MAX, DAEMON_NODE_OPTIONS } from '../../../src/ipam/autostart';
import { cniEnv, Sandbox } from '../helpers/sandbox';

/**
 * What a network file may make root do (issue 10 item 11, docs/security.md): the jailnet-ipam
 * plugin starts, trusts and hands to jailnetd only paths nobody but root can change, and starts
 * jailnetd with an allow-listed environment.
 */

const NOBODY = 65534;
let sb: Sandbox;
beforeAll(() => {
  sb = new Sandbox('trust');
});
afterAll(() => sb.cleanup());

// Every case names its own socket and state directory: a daemon started by mistake must not use the machine's.
const conf = (ipamExtra: Record<string, unknown>) => ({ cniVersion: '1.0.0', name: 'trust', type: 'bridge', ipam: { ...sb.ipam([[{ subnet: '10.83.0.0/24' }]]), ...ipamExtra } });

test('ipam.daemon.path naming a program another user can replace is refused, and nothing is started', async () => {
  const open = join(sb.dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const marker = join(sb.dir, 'ran');
  const evil = join(open, 'jailnetd');
  writeFileSync(evil, `#!/bin/sh\ntouch ${marker}\n`);
  chmodSync(evil, 0o755);
  const r = await sb.runPlugin(cniEnv('ADD', 'p1'), conf({ socket: join(sb.dir, 'run1', 'jailnetd.sock'), daemon: { path: evil, stateDir: join(sb.dir, 'state1'), logFile: sb.logFile } }));
  expect(r.code).toBe(1);
  expect(r.json).toMatchObject({ code: 7, msg: `network configuration: field "ipam.daemon.path": ${evil}: ${open} is writable by other users (mode 0777)` });
  const other = await sb.runPlugin(cniEnv('ADD', 'p1'), conf({ socket: join(sb.dir, 'run1', 'jailnetd.sock'), daemon: { path: '/bin/sh', stateDir: join(sb.dir, 'state1'), logFile: sb.logFile } }));
  expect(other.json).toMatchObject({ code: 7, msg: expect.stringContaining('field "ipam.daemon.path": /bin/sh: must name the jailnetd executable') });
  expect(existsSync(marker)).toBe(false);
});

test('ipam.daemon.stateDir naming a directory open to others is refused, and its mode is left alone', async () => {
  const shared = join(sb.dir, 'shared-dir');
  mkdirSync(shared);
  chmodSync(shared, 0o755);
  const r = await sb.runPlugin(cniEnv('ADD', 'p2'), conf({ socket: join(sb.dir, 'run2', 'jailnetd.sock'), daemon: { path: sb.jailnetd, stateDir: shared, logFile: sb.logFile } }));
  expect(r.json).toMatchObject({ code: 7, msg: expect.stringContaining(`field "ipam.daemon.stateDir": ${shared}: ${shared} is open to other users (mode 0755)`) });
  expect(statSync(shared).mode & 0o777).toBe(0o755);
});

test('ipam.daemon.logFile naming a file that is not a log is refused', async () => {
  const r = await sb.runPlugin(cniEnv('ADD', 'p3'), conf({ socket: join(sb.dir, 'run3', 'jailnetd.sock'), daemon: { path: sb.jailnetd, stateDir: join(sb.dir, 'state3'), logFile: '/etc/rc.conf' } }));
  expect(r.json).toMatchObject({ code: 7, msg: expect.stringContaining('field "ipam.daemon.logFile": /etc/rc.conf: a log file\'s name must end in ".log"') });
});

test("a socket another user owns is not talked to: its answers would be believed", async () => {
  const dir = join(sb.dir, 'fake');
  mkdirSync(dir, { mode: 0o700 });
  const socket = join(dir, 'jailnetd.sock');
  let requests = 0;
  const fake = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ created: true, lease: { ips: [{ address: '192.0.2.66/24', gateway: '192.0.2.1' }] } }));
  });
  await new Promise<void>((resolve) => fake.listen(socket, resolve));
  try {
    chownSync(socket, NOBODY, NOBODY);
    const r = await sb.runPlugin(cniEnv('ADD', 'p4'), conf({ socket, autostart: false }));
    expect(r.json).toMatchObject({ code: 7, msg: `network configuration: field "ipam.socket": ${socket}: ${socket} is owned by uid ${NOBODY}, not by root` });
    expect(requests).toBe(0);
    // The control: the same socket, root's, is talked to.
    chownSync(socket, 0, 0);
    const ok = await sb.runPlugin(cniEnv('ADD', 'p4'), conf({ socket, autostart: false }));
    expect(ok.code).toBe(0);
    expect(requests).toBe(1);
  } finally {
    await new Promise((resolve) => fake.close(resolve));
  }
});

test("jailnetd started by the plugin gets an allow-listed environment, none of the runtime's", async () => {
  const socket = join(sb.dir, 'run5', 'jailnetd.sock');
  const r = await sb.runPlugin({ ...cniEnv('ADD', 'p5'), NODE_OPTIONS: '--no-warnings', RUNTIME_SECRET: 'x', TZ: 'UTC' }, conf({ socket, daemon: { path: sb.jailnetd, stateDir: join(sb.dir, 'state5'), logFile: sb.logFile, config: sb.daemonConfig } }));
  expect(r.stdout).not.toMatch(/"code"/);
  expect(r.code).toBe(0);
  const pid = Number.parseInt(readFileSync(join(sb.dir, 'state5', 'lock'), 'utf8'), 10);
  sb.adopt(pid);
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).sort();
  // JAILNET_FREEBSD_ROOT is the test build's switch, set by the sandbox (its empty tool root).
  expect(environ).toEqual([`JAILNET_FREEBSD_ROOT=${sb.noHostTools}`, `MALLOC_ARENA_MAX=${DAEMON_MALLOC_ARENA_MAX}`, `NODE_OPTIONS=${DAEMON_NODE_OPTIONS}`, `PATH=${dirname(process.execPath)}:/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin`, 'TZ=UTC']);
  // Started by the plugin's own node, not through a PATH look-up of the #! line.
  expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe(process.execPath);
});
