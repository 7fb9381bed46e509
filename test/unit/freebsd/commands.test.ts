import { CniCode, CniError } from '../../../src/cni/errors';
import { CommandError, COMMAND_ENV, execCommand, setCommandRunner, type CommandRunner, type ExecResult } from '../../../src/freebsd/exec';
import { resetJailFlagProbe } from '../../../src/freebsd/jail-exec';
import { configureInterface, createEpair, destroyInterface, ifconfigArgs, ifw, moveToJail, showInterface } from '../../../src/freebsd/ifconfig';
import { findJail, removeJail } from '../../../src/freebsd/jail';
import { loadAnchor, changeTable } from '../../../src/freebsd/pfctl';
import { addRoute, getRoute, routeArgs } from '../../../src/freebsd/route';
import { setSysctl } from '../../../src/freebsd/sysctl';
import { toolPath } from '../../../src/freebsd/tools';
import { listRoutes } from '../../../src/freebsd/netstat';
import { corpusSample } from '../../helpers/freebsd-corpus';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildSync } from 'esbuild';

// The typed operations build the argv documented in freebsd.md; a recording runner stands in
// for the programs here (the emulated-host suites run them for real).

type Reply = Partial<ExecResult> & { fail?: { code: number; stderr: string; stdout?: string } };
let calls: { file: string; args: readonly string[]; input?: string }[];
let replies: Reply[];
let previous: CommandRunner;

const recorder: CommandRunner = async (file, args, options) => {
  calls.push({ file, args, input: options.input });
  const r = replies.shift() ?? {};
  if (r.fail) throw new CommandError([file, ...args], r.fail.code, null, r.fail.stdout ?? '', r.fail.stderr, false);
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

beforeEach(() => {
  calls = [];
  replies = [];
  previous = setCommandRunner(recorder);
  resetJailFlagProbe();
  delete process.env.JAILNET_FREEBSD_ROOT;
});
afterEach(() => {
  setCommandRunner(previous);
  delete process.env.JAILNET_FREEBSD_ROOT;
});

const argvs = () => calls.map((c) => [c.file, ...c.args].join(' '));

describe('tool paths', () => {
  test('absolute FreeBSD paths, moved under JAILNET_FREEBSD_ROOT when set', () => {
    expect(toolPath('ifconfig')).toBe('/sbin/ifconfig');
    expect(toolPath('jls')).toBe('/usr/sbin/jls');
    expect(toolPath('ifconfig', { JAILNET_FREEBSD_ROOT: '/tmp/emu' })).toBe('/tmp/emu/sbin/ifconfig');
    expect(() => toolPath('ifconfig', { JAILNET_FREEBSD_ROOT: 'relative' })).toThrow('absolute');
  });

  test('nothing runs by a relative path', () => {
    expect(() => execCommand('ifconfig', [])).toThrow('absolute path only');
  });
});

describe('ifconfig operations', () => {
  test('epair create returns both ends', async () => {
    replies.push({ stdout: 'epair7a\n' });
    expect(await createEpair()).toEqual({ a: 'epair7a', b: 'epair7b' });
    expect(argvs()).toEqual(['/sbin/ifconfig epair create']);
  });

  test('several settings go into one call', async () => {
    replies.push({ stdout: 'jn0123456789ab\n' });
    await configureInterface('epair7a', [ifw.name('jn0123456789ab'), ifw.description('jailnet web1/eth0 on default'), ifw.mtu(1500), ifw.up()]);
    expect(calls[0]?.args).toEqual(['epair7a', 'name', 'jn0123456789ab', 'description', 'jailnet web1/eth0 on default', 'mtu', '1500', 'up']);
  });

  test('the family and the address request come first; other words follow', () => {
    expect(ifconfigArgs('epair7b', [ifw.name('eth0'), ifw.inet('10.0.0.5/24'), ifw.up()])).toEqual(['epair7b', 'inet', '10.0.0.5/24', 'name', 'eth0', 'up']);
    // The link address is a family (af_link.c): first, and never with inet or inet6.
    expect(ifconfigArgs('epair7b', [ifw.name('eth0'), ifw.ether('02:00:00:00:00:01'), ifw.up()])).toEqual(['epair7b', 'ether', '02:00:00:00:00:01', 'name', 'eth0', 'up']);
    expect(() => ifconfigArgs('epair7b', [ifw.ether('02:00:00:00:00:01'), ifw.inet('10.0.0.5/24')])).toThrow('one address family');
    expect(ifconfigArgs('eth0', [ifw.inet6Enable(), ifw.inet6('fd00::5/64')])).toEqual(['eth0', 'inet6', '-ifdisabled', 'fd00::5/64', 'alias']);
    expect(ifconfigArgs('eth0', [ifw.inetAlias('10.0.0.6/24')])).toEqual(['eth0', 'inet', '10.0.0.6/24', 'alias']);
    expect(ifconfigArgs('eth0', [ifw.inetDelete('10.0.0.6')])).toEqual(['eth0', 'inet', '10.0.0.6', '-alias']);
    expect(() => ifw.inet('fd00::5/64')).toThrow('IPv6');
  });

  test('one family and one address per call, as ifconfig applies them', () => {
    expect(() => ifconfigArgs('eth0', [ifw.inet('10.0.0.5/24'), ifw.inet6('fd00::5/64')])).toThrow('one address family');
    expect(() => ifconfigArgs('eth0', [ifw.inet('10.0.0.5/24'), ifw.inetAlias('10.0.0.6/24')])).toThrow('one address request');
  });

  test('inside a jail: -j first, then jexec for good once -j is refused', async () => {
    replies.push({ fail: { code: 1, stderr: 'ifconfig: illegal option -- j\nusage: ifconfig ...' } }, {}, {});
    await configureInterface('epair7b', [ifw.name('eth0'), ifw.up()], { jail: 'web1' });
    await configureInterface('lo0', [ifw.up()], { jail: 'web1' });
    expect(argvs()).toEqual([
      '/sbin/ifconfig -j web1 epair7b name eth0 up',
      '/usr/sbin/jexec web1 /sbin/ifconfig epair7b name eth0 up',
      '/usr/sbin/jexec web1 /sbin/ifconfig lo0 up',
    ]);
  });

  test('-j is learnt per tool: an ifconfig with -j and a netstat without it', async () => {
    replies.push({}, { fail: { code: 1, stderr: 'netstat: illegal option -- j\nusage: netstat ...' } }, { stdout: 'Routing tables\n' }, {});
    await configureInterface('lo0', [ifw.up()], { jail: 'web1' });
    expect(await listRoutes(4, { jail: 'web1' })).toEqual([]);
    await configureInterface('lo0', [ifw.up()], { jail: 'web1' });
    expect(argvs()).toEqual([
      '/sbin/ifconfig -j web1 lo0 up',
      '/usr/bin/netstat -j web1 -rnW -f inet',
      '/usr/sbin/jexec web1 /usr/bin/netstat -rnW -f inet',
      '/sbin/ifconfig -j web1 lo0 up',
    ]);
  });

  test('the jexec fallback in a jail without /sbin/ifconfig says to upgrade or to add the program', async () => {
    // The two failures as FreeBSD prints them (test/fixtures/freebsd).
    const noJ = corpusSample('err-ifconfig-13-illegal-option-j');
    const noProgram = corpusSample('err-jexec-execvp-missing');
    replies.push({ fail: { code: noJ.exit, stderr: noJ.stderr } }, { fail: { code: noProgram.exit, stderr: noProgram.stderr } });
    const err = await configureInterface('lo0', [ifw.up()], { jail: 'web1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect(err).toMatchObject({ code: CniCode.HostCommandFailed, message: expect.stringContaining('jail web1 has no /sbin/ifconfig') });
    expect((err as CniError).details).toMatch(/^upgrade the host to a release whose ifconfig and route take -j .* or put \/sbin\/ifconfig and \/sbin\/route into the jail's filesystem\njexec: execvp: \/sbin\/ifconfig: No such file or directory$/);
    expect(argvs()).toEqual(['/sbin/ifconfig -j web1 lo0 up', '/usr/sbin/jexec web1 /sbin/ifconfig lo0 up']);
  });

  test('a real failure inside the jail is not mistaken for a missing -j', async () => {
    replies.push({ fail: { code: 1, stderr: 'ifconfig: interface epair7b does not exist' } });
    await expect(configureInterface('epair7b', [ifw.up()], { jail: 'web1' })).rejects.toThrow('does not exist');
    expect(calls).toHaveLength(1);
  });

  test('destroy of a missing interface reports false; show of one gives undefined', async () => {
    replies.push({ fail: { code: 1, stderr: 'ifconfig: interface jnx does not exist' } }, { fail: { code: 1, stderr: 'ifconfig: interface jnx does not exist' } });
    expect(await destroyInterface('jnx')).toBe(false);
    expect(await showInterface('jnx')).toBeUndefined();
  });

  test('hostile names never reach the runner', async () => {
    await expect(moveToJail('epair0b', 'web1;reboot')).rejects.toThrow('invalid jail name');
    expect(() => ifw.name('$(id)')).toThrow('invalid interface name');
    await expect(configureInterface('eth0;id', [ifw.up()])).rejects.toThrow('invalid interface name');
    await expect(findJail('../x')).rejects.toThrow('invalid jail name');
    expect(calls).toHaveLength(0);
  });
});

describe('jail, route, sysctl, pfctl operations', () => {
  test('jls of a missing jail is undefined', async () => {
    replies.push({ fail: { code: 1, stderr: 'jls: jail "nope" not found' } }, { stdout: '3 web1 new\n' });
    expect(await findJail('nope')).toBeUndefined();
    expect(await findJail('web1')).toEqual({ jid: 3, name: 'web1', vnet: 'new' });
    expect(calls[1]?.args).toEqual(['-j', 'web1', 'jid', 'name', 'vnet']);
  });

  test('route argv for default, nets, hosts and interface routes', () => {
    expect(routeArgs('add', { dst: 'default', gateway: '10.88.0.1', family: 4 })).toEqual(['-n', '-4', 'add', 'default', '10.88.0.1']);
    expect(routeArgs('add', { dst: '10.1.0.0/16', gateway: '10.88.0.1', family: 4 })).toEqual(['-n', '-4', 'add', '-net', '10.1.0.0/16', '10.88.0.1']);
    expect(routeArgs('add', { dst: '10.89.0.5/32', interface: 'jn0123', family: 4 })).toEqual(['-n', '-4', 'add', '-host', '10.89.0.5', '-interface', 'jn0123']);
    expect(routeArgs('delete', { dst: 'default', family: 6 })).toEqual(['-n', '-6', 'delete', 'default']);
  });

  test('an existing route is reported, not thrown', async () => {
    replies.push({ fail: { code: 1, stderr: '', stdout: 'add net default: gateway 10.88.0.1 fib 0: route already in table\n' } });
    expect(await addRoute({ dst: 'default', gateway: '10.88.0.1', family: 4 }, { jail: 'web1' })).toBe('exists');
    expect(argvs()).toEqual(['/sbin/route -j web1 -n -4 add default 10.88.0.1']);
  });

  test('route get: the route; no route in either release\'s way of saying so', async () => {
    replies.push({ stdout: corpusSample('route-14-get-default-n').stdout });
    expect(await getRoute('default', 4, { jail: 'web1' })).toMatchObject({ gateway: '10.88.0.1', interface: 'eth0' });
    // 13.x (routing socket): status 255 and a warning.
    const old = corpusSample('err-route-13-get-missing');
    replies.push({ fail: { code: old.exit, stderr: old.stderr } });
    expect(await getRoute('default', 6)).toBeUndefined();
    // 14.x (netlink, route_netlink.c): warn() and status 0, nothing on stdout.
    replies.push({ stdout: '', stderr: 'route: route has not been found: No such process\n' });
    expect(await getRoute('default', 6)).toBeUndefined();
    expect(argvs()).toEqual(['/sbin/route -j web1 -n get -inet default', '/sbin/route -n get -inet6 default', '/sbin/route -n get -inet6 default']);
  });

  test('sysctl set parses old and new', async () => {
    replies.push({ stdout: 'net.inet.ip.forwarding: 0 -> 1\n' });
    expect(await setSysctl('net.inet.ip.forwarding', 1)).toEqual({ old: '0', new: '1' });
    await expect(setSysctl('net.inet.ip.forwarding;x', 1)).rejects.toThrow('invalid sysctl name');
  });

  test('anchor rules go on stdin, table entries are checked', async () => {
    await loadAnchor('jailnet/net1', 'nat on em0 inet from <jailnet_net1> to any -> (em0)\n');
    expect(calls[0]).toEqual({ file: '/sbin/pfctl', args: ['-a', 'jailnet/net1', '-f', '-'], input: 'nat on em0 inet from <jailnet_net1> to any -> (em0)\n' });
    await changeTable('add', 'jailnet_net1', ['10.88.0.5', '10.88.0.0/16'], 'jailnet/net1');
    expect(calls[1]?.args).toEqual(['-a', 'jailnet/net1', '-t', 'jailnet_net1', '-T', 'add', '10.88.0.5', '10.88.0.0/16']);
    await expect(changeTable('add', 'jailnet_net1', ['10.88.0.5 -F all'])).rejects.toThrow();
    expect(calls).toHaveLength(2);
  });
});

describe('the real runner', () => {
  beforeEach(() => setCommandRunner(previous));

  test('a failing command carries its command line, exit status and stderr', async () => {
    const err = (await execCommand('/bin/sh', ['-c', 'echo "ifconfig: interface x does not exist" >&2; exit 1']).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.exitCode).toBe(1);
    expect(err.argv).toEqual(['/bin/sh', '-c', 'echo "ifconfig: interface x does not exist" >&2; exit 1']);
    expect(err.message).toContain('exited with status 1: ifconfig: interface x does not exist');
    expect(err.cniCode).toBe(100);
  });

  test('a command that hangs is killed at its timeout', async () => {
    const err = (await execCommand('/bin/sleep', ['5'], { timeoutMs: 200 }).catch((e: unknown) => e)) as CommandError;
    expect(err.timedOut).toBe(true);
    expect(err.message).toContain('`/bin/sleep 5` timed out');
  });

  test('a missing program is reported as such', async () => {
    const err = (await execCommand('/nonexistent/ifconfig', []).catch((e: unknown) => e)) as CommandError;
    expect(err.message).toContain('could not be started (ENOENT)');
  });

  test('stdin input reaches the program', async () => {
    expect((await execCommand('/bin/cat', [], { input: 'rules\n' })).stdout).toBe('rules\n');
  });

  test('output larger than a pipe holds, and input larger than one, arrive whole', async () => {
    const big = 'x'.repeat(700_000) + '\n';
    const r = await execCommand('/bin/cat', [], { input: big });
    expect(r.stdout.length).toBe(big.length);
    expect(r.stdout).toBe(big);
    const both = await execCommand('/bin/sh', ['-c', 'head -c 300000 /dev/zero | tr "\\0" o; head -c 200000 /dev/zero | tr "\\0" e >&2']);
    expect([both.stdout.length, both.stderr.length]).toEqual([300_000, 200_000]);
    expect(both.stdout).toMatch(/^o+$/);
    expect(both.stderr).toMatch(/^e+$/);
  });

  test('its scratch files leave neither a file nor a descriptor behind, failed or not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jn-exec-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const fdsBefore = readdirSync('/proc/self/fd').length;
      for (let i = 0; i < 10; i++) {
        await execCommand('/bin/cat', [], { input: `${i}\n` });
        await execCommand('/bin/sh', ['-c', 'exit 3']).catch(() => undefined);
        await execCommand('/nonexistent/ifconfig', []).catch(() => undefined);
      }
      await execCommand('/bin/sleep', ['5'], { timeoutMs: 100 }).catch(() => undefined);
      expect(readdirSync(dir)).toEqual([]);
      expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a TMPDIR that cannot hold scratch files: /tmp does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jn-exec-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = join(dir, 'missing');
    try {
      await execCommand('/bin/touch', [join(dir, 'ran')]);
      expect(existsSync(join(dir, 'ran'))).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('neither TMPDIR nor /tmp can hold scratch files: a clear error, and the command is not run', () => {
    // In a mount namespace of its own whose /tmp is a read-only tmpfs (root, as CI), exec.ts
    // (bundled here) runs `touch MARK` with TMPDIR missing. Control: the same with /tmp writable.
    const code = buildSync({ entryPoints: [join(__dirname, '../../../src/freebsd/exec.ts')], bundle: true, platform: 'node', format: 'cjs', write: false }).outputFiles[0]?.text;
    const mark = `/dev/shm/jn-exec-${process.pid}-ran`;
    const driver = `${code}\nmodule.exports.execCommand('/bin/touch', [${JSON.stringify(mark)}]).then(() => console.log('ran'), (e) => console.log(e.message));`;
    const run = (readOnlyTmp: boolean) =>
      spawnSync('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', `${readOnlyTmp ? 'mount -t tmpfs -o ro tmpfs /tmp && ' : ''}exec "$0" -`, process.execPath], { input: driver, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', TMPDIR: '/nonexistent-jn' } });
    try {
      const refused = run(true);
      expect(refused.stdout.trim()).toBe(`command \`/bin/touch ${mark}\` could not be started (no scratch file for its output in /nonexistent-jn or /tmp: EROFS; TMPDIR, else /tmp, must be a directory this user can create files in)`);
      expect(existsSync(mark)).toBe(false);
      const control = run(false);
      expect(control.stdout.trim()).toBe('ran');
      expect(existsSync(mark)).toBe(true);
    } finally {
      rmSync(mark, { force: true });
    }
  });

  test('a process the command leaves behind does not hold up its result', async () => {
    // The process left behind holds the command's stdout until the test writes to a FIFO. With
    // pipes the result waited for every holder of the pipe to close it: here, forever.
    const dir = mkdtempSync(join(tmpdir(), 'jn-exec-'));
    const fifo = join(dir, 'release');
    try {
      const r = await execCommand('/bin/sh', ['-c', 'mkfifo "$1" && { read x < "$1"; } & echo started', 'sh', fifo], { timeoutMs: 120_000 });
      expect(r.stdout).toBe('started\n');
    } finally {
      // Releases the process left behind (opening the FIFO for writing waits for its reader).
      await new Promise<void>((resolve) => {
        const w = createWriteStream(fifo, { flags: 'a' });
        w.on('error', () => resolve());
        w.end('go\n', () => resolve());
      });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  test('more output than a command may print is refused', async () => {
    const err = (await execCommand('/bin/sh', ['-c', 'head -c 17000000 /dev/zero']).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.message).toContain('printed more than 16777216 bytes');
    expect(err.stdout.length).toBe(16 * 1024 * 1024);
  });

  test("a command gets the fixed environment, nothing of the caller's", async () => {
    process.env.IFCONFIG_FORMAT = 'addr:host';
    try {
      const printed = (await execCommand('/usr/bin/env', [])).stdout.trim().split('\n').sort();
      expect(printed).toEqual(Object.entries(COMMAND_ENV).map(([k, v]) => `${k}=${v}`).sort());
    } finally {
      delete process.env.IFCONFIG_FORMAT;
    }
  });
});

describe('jail removal', () => {
  test('`jail: "x" not found` (jail -r) counts as already gone', async () => {
    replies.push({ fail: { code: 1, stderr: 'jail: "ghost" not found\n' } });
    expect(await removeJail('ghost')).toBe(false);
  });
});
