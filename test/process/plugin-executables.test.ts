import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { versionInfo } from '../../src/cni/version';
import { cniEnv, PLUGIN_DIR, runPlugin, TEST_PLUGIN_DIR } from '../helpers/plugin-process';

// The dispatcher as a real executable (bundled by scripts/build.mjs): what a CNI runtime sees.

const noop = join(TEST_PLUGIN_DIR, 'noop');
const delegator = join(TEST_PLUGIN_DIR, 'delegator');

beforeAll(() => {
  if (!existsSync(noop)) throw new Error('dist/test/cni/noop is missing: run `npm run build` first (scripts/test.sh does)');
});

describe('a plugin built on the dispatcher', () => {
  test('answers VERSION with all five versions, and nothing else on stdout', async () => {
    const r = await runPlugin(noop, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}');
  });

  test('without CNI_COMMAND: nothing on stdout, exit 0, name, version and protocol versions on stderr (as the reference skel)', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    const r = await runPlugin(noop, {}, '');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`CNI noop plugin v${version}\nCNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n`);
  });

  test('an unknown CNI_COMMAND: error JSON (code 4) on stdout', async () => {
    const r = await runPlugin(noop, { CNI_COMMAND: 'BOGUS' }, '');
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 4, msg: 'unknown CNI_COMMAND "BOGUS"' });
  });

  test('debug logs go to stderr; stdout stays pure protocol', async () => {
    const r = await runPlugin(noop, { ...cniEnv('ADD'), JAILNET_LOG_LEVEL: 'debug' }, { cniVersion: '0.4.0', name: 'n', type: 'noop' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '0.4.0' });
    expect(r.stderr).toMatch(/noop\[\d+\] debug: ADD done/);
  });

  test('logs go to the configured file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jailnet-log-'));
    try {
      const file = join(dir, 'plugin.log');
      const r = await runPlugin(noop, cniEnv('ADD'), { cniVersion: '1.0.0', name: 'n', type: 'noop', logLevel: 'debug', logFile: file });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(readFileSync(file, 'utf8')).toContain('debug: ADD done');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('logging never changes the answer or the exit status', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'jailnet-log-'));
    });
    afterEach(() => {
      try {
        execFileSync('/usr/bin/chattr', ['-i', join(dir, 'locked.log')], { stdio: 'ignore' });
      } catch {
        /* not made */
      }
      rmSync(dir, { recursive: true, force: true });
    });

    test('a log file that cannot be opened (immutable: even root gets EPERM): the answer as usual, the lines on stderr with the reason', async () => {
      const file = join(dir, 'locked.log');
      writeFileSync(file, '');
      execFileSync('/usr/bin/chattr', ['+i', file]);
      const ok = await runPlugin(noop, cniEnv('ADD'), { cniVersion: '1.0.0', name: 'n', type: 'noop', logLevel: 'debug', logFile: file });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual({ cniVersion: '1.0.0' });
      expect(ok.stderr).toMatch(new RegExp(`noop\\[\\d+\\] error: cannot log to ${file}: EPERM.*logging to stderr instead\\n.*noop\\[\\d+\\] debug: ADD done`));
      const failed = await runPlugin(noop, { ...cniEnv('ADD'), JAILNET_LOG_FILE: file }, '{"cniVersion":"1.0.0","name":"n","type":"noop","mtu":');
      expect(failed.code).toBe(1);
      expect(failed.json).toMatchObject({ code: 6 });
      expect(failed.stderr).toContain(`cannot log to ${file}`);
    });

    test('a logFile root must not append to is refused as configuration (code 7, naming the field)', async () => {
      const r = await runPlugin(noop, cniEnv('ADD'), { cniVersion: '1.0.0', name: 'n', type: 'noop', logFile: '/etc/passwd' });
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code: 7, msg: 'network configuration: field "logFile": /etc/passwd: a log file\'s name must end in ".log" (or be /dev/null)' });
    });

    test('JAILNET_LOG_FILE naming a file root must not append to: the answer as usual, the lines on stderr', async () => {
      const r = await runPlugin(noop, { ...cniEnv('ADD'), JAILNET_LOG_FILE: '/etc/passwd', JAILNET_LOG_LEVEL: 'debug' }, { cniVersion: '1.0.0', name: 'n', type: 'noop' });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/error: cannot log to \/etc\/passwd: \/etc\/passwd: a log file's name must end in ".log"/);
      expect(r.stderr).toMatch(/debug: ADD done/);
    });
  });

  test('errors exit 1 with the error JSON only', async () => {
    const r = await runPlugin(noop, { ...cniEnv('ADD'), JAILNET_LOG_FILE: '/dev/null' }, '{"cniVersion":"1.0.0","name":"n","type":"noop","mtu":');
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ cniVersion: '1.1.0', code: 6 });
  });
});

describe('IPAM delegation', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jailnet-delegate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const conf = (version: string, ipam: object) => ({ cniVersion: version, name: 'net1', type: 'delegator', ipam: { type: 'fixture-ipam', ...ipam } });
  const records = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { command: string; env: Record<string, string>; stdin: string });

  test('runs the IPAM plugin from CNI_PATH with the same environment and stdin', async () => {
    const record = join(dir, 'calls.jsonl');
    const config = conf('1.0.0', { record, address: '10.99.0.7/24' });
    const env = { ...cniEnv('ADD'), CNI_PATH: `/nonexistent:${TEST_PLUGIN_DIR}`, CNI_ARGS: 'IP=10.99.0.7' };
    const r = await runPlugin(delegator, env, config);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: 'jail1' }],
      ips: [{ address: '10.99.0.7/24', gateway: '10.99.0.1', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.99.0.1' }],
      dns: { nameservers: ['10.99.0.1'] },
    });
    const [call] = records(record);
    expect(call?.command).toBe('ADD');
    expect(call?.env).toMatchObject({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: 'jail1', CNI_IFNAME: 'eth0', CNI_ARGS: 'IP=10.99.0.7' });
    expect(JSON.parse(call?.stdin ?? '')).toEqual(config);
  });

  test('the IPAM result is read in the input version (0.3.1)', async () => {
    const r = await runPlugin(delegator, cniEnv('ADD'), conf('0.3.1', {}));
    expect(r.json).toMatchObject({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.99.0.2/24', gateway: '10.99.0.1', interface: 0 }] });
  });

  test.each(['DEL', 'CHECK'])('%s is forwarded', async (command) => {
    const record = join(dir, 'calls.jsonl');
    const r = await runPlugin(delegator, cniEnv(command), conf('1.0.0', { record }));
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(records(record)[0]?.command).toBe(command);
  });

  test("the IPAM plugin's error comes back with its code", async () => {
    const r = await runPlugin(delegator, { ...cniEnv('ADD'), JAILNET_LOG_FILE: '/dev/null' }, conf('1.0.0', { fail: { code: 102, msg: 'no free address in 10.99.0.0/24' } }));
    expect(r.json).toMatchObject({ code: 102, msg: 'IPAM plugin fixture-ipam ADD: no free address in 10.99.0.0/24' });
  });

  test('an IPAM plugin missing from CNI_PATH is code 7 naming the path', async () => {
    const r = await runPlugin(delegator, { ...cniEnv('ADD'), CNI_PATH: '/nonexistent', JAILNET_LOG_FILE: '/dev/null' }, { ...conf('1.0.0', {}), ipam: { type: 'host-local' } });
    expect(r.json).toMatchObject({ code: 7, msg: 'IPAM plugin "host-local" not found in CNI_PATH (/nonexistent)' });
  });

  test('an ipam.type that is a path is refused before anything runs', async () => {
    const r = await runPlugin(delegator, { ...cniEnv('ADD'), JAILNET_LOG_FILE: '/dev/null' }, { ...conf('1.0.0', {}), ipam: { type: '../../bin/sh' } });
    expect(r.json).toMatchObject({ code: 7 });
    expect(String(r.json?.msg)).toContain('invalid plugin name');
  });

  test('CNI_PATH missing when delegation needs it is code 4 naming CNI_PATH', async () => {
    const r = await runPlugin(delegator, { ...cniEnv('ADD'), CNI_PATH: undefined, JAILNET_LOG_FILE: '/dev/null' }, conf('1.0.0', {}));
    expect(r.json).toMatchObject({ code: 4 });
    expect(String(r.json?.msg)).toContain('CNI_PATH');
  });
});

describe("a shipped plugin's executable: the launcher, with the plugin in its trailing comment", () => {
  const shipped = readdirSync(PLUGIN_DIR).filter((f) => !f.endsWith('.map'));
  let work: string;
  let recorder: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'jailnet-launcher-'));
    // Preloaded (NODE_OPTIONS): says on stderr when the plugin's code gets compiled.
    recorder = join(work, 'record-compile.cjs');
    writeFileSync(recorder, "const vm = require('vm'); const f = vm.compileFunction; vm.compileFunction = function (code, params, opts) { if (String(opts && opts.filename).endsWith('(plugin)')) process.stderr.write('[compiled the plugin]\\n'); return f.apply(this, arguments); };\n");
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('the nine plugins are built so', () => {
    expect(shipped.sort()).toEqual(['bridge', 'epair', 'firewall', 'host-local', 'jailnet-ipam', 'loopback', 'nat', 'portmap', 'tuning']);
  });

  test.each(shipped)('%s answers VERSION as the dispatcher does, without compiling the plugin', async (name) => {
    const r = await runPlugin(join(PLUGIN_DIR, name), { CNI_COMMAND: 'VERSION', NODE_OPTIONS: `--require ${recorder}` }, '{"cniVersion":"1.1.0"}');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(JSON.stringify(versionInfo()));
    // Control: any other call compiles it and is answered by the dispatcher.
    const bogus = await runPlugin(join(PLUGIN_DIR, name), { CNI_COMMAND: 'BOGUS', NODE_OPTIONS: `--require ${recorder}`, JAILNET_LOG_FILE: '/dev/null' }, '');
    expect(bogus.code).toBe(1);
    expect(bogus.json).toMatchObject({ code: 4, msg: 'unknown CNI_COMMAND "BOGUS"' });
    expect(bogus.stderr).toContain('[compiled the plugin]');
  });

  test('a copy without its trailing comment (stripped by a tool) says so and how to fix it; VERSION still answers', async () => {
    const cut = join(work, 'bridge');
    const text = readFileSync(join(PLUGIN_DIR, 'bridge'), 'utf8');
    writeFileSync(cut, text.slice(0, text.lastIndexOf('/*jailnet-embedded-code')), { mode: 0o755 });
    const r = await runPlugin(cut, { ...cniEnv('ADD'), JAILNET_LOG_FILE: '/dev/null' }, { cniVersion: '1.0.0', name: 'n', type: 'bridge' });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the plugin code at the end of this file is missing or cut short: install the executable again');
    expect((await runPlugin(cut, { CNI_COMMAND: 'VERSION' })).stdout).toBe(JSON.stringify(versionInfo()));
  });
});
