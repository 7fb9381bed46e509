import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { JAILNET } from '../helpers/jailnet-cli';
import { bridgeNetwork, withPluginHost } from '../helpers/plugin-host';
import { runPlugin } from '../helpers/plugin-process';

// Plugins installed with `jailnet plugins install` are whole: nothing they load lives beside
// them. And logging never changes what a plugin answers: with a log file that cannot be opened
// (immutable: even root gets EPERM), an ADD still succeeds with its result and an error is still
// answered with CNI JSON (issue 10 item 5).

let host: EmulatedHost;
let ipamd: TestDaemon;
let dir: string;
let cniDir: string;
let logFile: string;

withPluginHost(async (s) => {
  ({ host, ipamd } = s);
  dir = mkdtempSync(join(tmpdir(), 'jailnet-installed-'));
  cniDir = join(dir, 'cni');
  execFileSync(JAILNET, ['plugins', 'install', '--dir', cniDir], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' });
  mkdirSync(join(dir, 'logs'), { mode: 0o700 });
  logFile = join(dir, 'logs', 'plugin.log');
  writeFileSync(logFile, '');
  execFileSync('/usr/bin/chattr', ['+i', logFile]);
  await host.createJail('instj');
}, 60_000);

afterAll(() => {
  if (!dir) return;
  try {
    execFileSync('/usr/bin/chattr', ['-i', logFile]);
  } catch {
    /* never made */
  }
  rmSync(dir, { recursive: true, force: true });
});

const run = (command: string, conf: object, att = { containerId: 'inst1', netns: 'instj' }) =>
  runPlugin(join(cniDir, 'bridge'), { ...host.env, CNI_COMMAND: command, CNI_CONTAINERID: att.containerId, CNI_NETNS: att.netns, CNI_IFNAME: 'eth0', CNI_PATH: cniDir, JAILNET_RUN_DIR: join(host.dir, 'run'), JAILNET_COMMAND_TIMEOUT: '300' }, conf);

test('install copies the executables only, one per plugins/*.ts (the drop-ins of other runtimes\' files too), each whole', () => {
  expect(readdirSync(cniDir).sort()).toEqual(['bridge', 'epair', 'firewall', 'host-local', 'jailnet-ipam', 'loopback', 'nat', 'portmap', 'tuning']);
  const sources = readdirSync(join(__dirname, '../../plugins')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  expect(readdirSync(cniDir).sort()).toEqual(sources.sort());
});

test('an ADD that logs at every level succeeds with its result although the log file cannot be opened', async () => {
  const conf = { ...bridgeNetwork(ipamd, 'inst', '10.94.0.0/24'), logLevel: 'debug', logFile };
  const add = await run('ADD', conf);
  expect(add.stdout).not.toMatch(/"code"/);
  expect(add.code).toBe(0);
  expect(add.json).toMatchObject({ interfaces: [{ name: 'br-inst' }, {}, { name: 'eth0', sandbox: 'instj' }], ips: [{ gateway: '10.94.0.1' }] });
  expect(add.stderr).toContain(`cannot log to ${logFile}`);
  const del = await run('DEL', { ...conf, prevResult: add.json });
  expect(del.stdout).toBe('');
  expect(del.code).toBe(0);
});

test('an error is still answered with CNI JSON, and the exit status is 1', async () => {
  const bad = { ...bridgeNetwork(ipamd, 'inst', '10.94.0.0/24'), logLevel: 'debug', logFile, mtu: 'big' };
  const r = await run('ADD', bad);
  expect(r.code).toBe(1);
  expect(r.json).toMatchObject({ code: 7, msg: 'network configuration: field "mtu" must be integer, got "big"' });
});
