import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_STATE_DIR } from '../../daemon/config';
import { networkTemplate } from '../../src/cli/networks';
import { DEFAULT_DAEMON_LOG, DEFAULT_SOCKET } from '../../src/ipam/connection';

/**
 * The staged install as the port runs it: `npm pack` of the built tree (the port's distfile),
 * unpacked, then `make install DESTDIR=... PREFIX=...` in a mount namespace where everything but
 * DESTDIR is read-only, so that a write anywhere else fails the install. The staged files must
 * be exactly conf/freebsd-port/pkg-plist, and the installed executables must run.
 */

const root = join(__dirname, '..', '..');
const PLUGINS = readdirSync(join(root, 'plugins')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const VERSION_REPLY = { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] };

let dir = '';
let pkg = '';

/**
 * `make -C pkg install` with these variables, in its own mount namespace: / and the other
 * mounts read-only, DESTDIR (bind-mounted onto itself first) writable. PROBE, when given, is a
 * file the same shell then tries to create outside DESTDIR: the sandbox's own control.
 */
function stagedInstall(vars: Record<string, string>, probe?: string) {
  const destdir = vars.DESTDIR as string;
  mkdirSync(destdir, { recursive: true });
  const script = [
    'set -e',
    'mount --make-rprivate /',
    'mount --bind "$DEST" "$DEST"',
    // Every other mount read-only (some, such as /proc, refuse; they hold no files to write).
    `for m in $(findmnt -rn -o TARGET | grep -v -x -F "$DEST"); do mount -o remount,bind,ro "$m" 2>/dev/null || true; done`,
    'make -s -C "$PKG" install "$@"',
    ...(probe ? [`if touch "${probe}" 2>/dev/null; then echo "sandbox: ${probe} was writable" >&2; exit 99; fi`] : []),
  ].join('\n');
  const args = ['-m', 'sh', '-c', script, 'staged-install', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  return spawnSync('unshare', args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', DEST: destdir, PKG: pkg } });
}

/** Every file and link under a directory, relative to it. */
function tree(base: string): string[] {
  return readdirSync(base, { recursive: true })
    .map(String)
    .filter((f) => !statSync(join(base, f), { throwIfNoEntry: false })?.isDirectory())
    .sort();
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist/release/cni/bridge'))) throw new Error('dist/release/ is missing: run `npm run build` first (scripts/test.sh does)');
  dir = mkdtempSync(join(tmpdir(), 'jailnet-stage-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })) as { filename: string }[];
  execFileSync('tar', ['-xzf', join(dir, (packed[0] as { filename: string }).filename), '-C', dir]);
  pkg = join(dir, 'package');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('make install DESTDIR=... PREFIX=/usr/local, as the port runs it', () => {
  let stage = '';
  let prefix = '';
  beforeAll(() => {
    stage = join(dir, 'stage');
    prefix = join(stage, 'usr/local');
    const r = stagedInstall({ DESTDIR: stage, PREFIX: '/usr/local' }, '/jailnet-sandbox-probe');
    if (r.status !== 0) throw new Error(`make install failed (${r.status}): ${r.stderr}`);
  });

  test('writes only under DESTDIR/PREFIX, exactly the files of conf/freebsd-port/pkg-plist', () => {
    expect(readdirSync(stage)).toEqual(['usr']);
    expect(readdirSync(join(stage, 'usr'))).toEqual(['local']);
    const listed = execFileSync('sh', [join(root, 'scripts/pkg-plist.sh'), stage, '/usr/local'], { encoding: 'utf8' });
    expect(listed).toBe(readFileSync(join(root, 'conf/freebsd-port/pkg-plist'), 'utf8'));
    const plist = listed.split('\n').filter((l) => l && !l.startsWith('@comment')).map((l) => l.replace(/^@sample /, ''));
    expect(plist).toEqual(tree(prefix));
  });

  test('lays the files out the hier(7) way', () => {
    const files = tree(prefix);
    expect(files).toEqual(expect.arrayContaining(['bin/jailnet', 'sbin/jailnetd', 'etc/rc.d/jailnetd', 'etc/newsyslog.conf.d/jailnetd.conf', 'etc/jailnet/jailnetd.json.sample', 'etc/jailnet/pf.conf.sample', 'etc/jailnet/networks/default.conflist.sample', 'share/man/man8/jailnet.8.gz', 'share/man/man8/jailnetd.8.gz', 'share/man/man5/jailnet-networks.5.gz', 'share/man/man7/jailnet-hooks.7.gz']));
    for (const p of PLUGINS) expect(readlinkSync(join(prefix, 'libexec/cni', p))).toBe(`../jailnet/cni/${p}`);
    expect(readlinkSync(join(prefix, 'bin/jailnet'))).toBe('../libexec/jailnet/bin/jailnet');
    expect(readlinkSync(join(prefix, 'sbin/jailnetd'))).toBe('../libexec/jailnet/bin/jailnetd');
    expect(statSync(join(prefix, 'etc/rc.d/jailnetd')).mode & 0o777).toBe(0o555);
    expect(files.filter((f) => f.endsWith('.map') || f.includes('emulator') || f.includes('test'))).toEqual([]);
  });

  test('every executable starts with #!/usr/local/bin/node, where FreeBSD\'s node20 puts node', () => {
    for (const f of ['bin/jailnet', 'bin/jailnetd', ...PLUGINS.map((p) => `cni/${p}`)]) {
      const file = join(prefix, 'libexec/jailnet', f);
      expect(readFileSync(file, 'utf8').split('\n', 1)[0]).toBe('#!/usr/local/bin/node');
      expect(statSync(file).mode & 0o777).toBe(0o555);
    }
  });

  test('the manual pages are the pages of man/, gzipped', () => {
    for (const [name, section] of [['jailnet', 8], ['jailnetd', 8], ['jailnet-networks', 5], ['jailnet-hooks', 7]] as const) {
      const installed = gunzipSync(readFileSync(join(prefix, `share/man/man${section}/${name}.${section}.gz`))).toString('utf8');
      expect(installed).toBe(readFileSync(join(root, 'man', `${name}.${section}`), 'utf8'));
    }
  });

  test.each(PLUGINS)('the installed %s answers VERSION, and an error with CNI JSON', (plugin) => {
    const exe = join(prefix, 'libexec/cni', plugin);
    // /usr/local/bin/node is FreeBSD's; here node runs the file (it skips the #! line).
    const run = (env: Record<string, string>, input: string) => spawnSync(process.execPath, [exe], { env: { PATH: process.env.PATH ?? '', ...env }, input, encoding: 'utf8', cwd: dir });
    const version = run({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
    expect(version.status).toBe(0);
    expect(JSON.parse(version.stdout)).toEqual(VERSION_REPLY);
    const conf = { cniVersion: '1.0.0', name: 'n', type: plugin, logLevel: 'loud', ipam: { type: 'jailnet-ipam' } };
    const bad = run({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: 'j1', CNI_IFNAME: 'eth0' }, JSON.stringify(conf));
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 7, msg: expect.stringContaining('logLevel') });
  });

  test('the sandbox the install ran in refused writes outside DESTDIR (the probe was not created)', () => {
    expect(existsSync('/jailnet-sandbox-probe')).toBe(false);
  });
});

describe('make install with another PREFIX and NODE', () => {
  let stage = '';
  let prefix = '';
  const PREFIX = '/opt/jailnet-staged-test';
  beforeAll(() => {
    stage = join(dir, 'stage2');
    prefix = join(stage, PREFIX);
    for (let i = 0; i < 2; i++) {
      // Twice: installing over an earlier install works.
      const r = stagedInstall({ DESTDIR: stage, PREFIX, NODE: process.execPath });
      if (r.status !== 0) throw new Error(`make install failed (${r.status}): ${r.stderr}`);
    }
  });

  test('nothing is written at PREFIX itself, only under DESTDIR', () => {
    expect(existsSync(PREFIX)).toBe(false);
    expect(readdirSync(stage)).toEqual(['opt']);
  });

  test('the rc.d script names PREFIX and NODE', () => {
    const rc = readFileSync(join(prefix, 'etc/rc.d/jailnetd'), 'utf8');
    expect(rc).toContain(`: \${jailnetd_bin:="${PREFIX}/sbin/jailnetd"}`);
    expect(rc).toContain(`: \${jailnetd_node:="${process.execPath}"}`);
    expect(rc).not.toContain('/usr/local/');
  });

  test.each(PLUGINS)('the installed %s runs from its link through its own #! line, and logs', (plugin) => {
    const exe = join(prefix, 'libexec/cni', plugin);
    expect(readFileSync(exe, 'utf8').split('\n', 1)[0]).toBe(`#!${process.execPath}`);
    const version = spawnSync(exe, [], { env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.1.0"}', encoding: 'utf8', cwd: dir });
    expect(version.status).toBe(0);
    expect(JSON.parse(version.stdout)).toEqual(VERSION_REPLY);
    const bogus = spawnSync(exe, [], { env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'BOGUS' }, input: '', encoding: 'utf8', cwd: dir });
    expect(bogus.status).toBe(1);
    expect(JSON.parse(bogus.stdout)).toMatchObject({ code: 4, msg: 'unknown CNI_COMMAND "BOGUS"' });
    expect(bogus.stderr).toMatch(new RegExp(`${plugin}\\[\\d+\\] error: unknown CNI_COMMAND "BOGUS"`));
  });

  test('jailnet and jailnetd run from bin/ and sbin/', () => {
    const env = { PATH: '/usr/bin:/bin' };
    expect(execFileSync(join(prefix, 'bin/jailnet'), ['--help'], { env, encoding: 'utf8', cwd: dir })).toMatch(/jailnet attach <jail>/);
    expect(execFileSync(join(prefix, 'sbin/jailnetd'), ['--version'], { env, encoding: 'utf8', cwd: dir }).trim()).toBe((require(join(root, 'package.json')) as { version: string }).version);
  });
});

test('bad PREFIX, NODE or DESTDIR: a clear error, and nothing installed', () => {
  for (const [vars, message] of [
    [{ PREFIX: 'usr/local' }, /PREFIX must be an absolute path other than \/, got "usr\/local"/],
    [{ PREFIX: '/' }, /PREFIX must be an absolute path other than \//],
    [{ PREFIX: '/usr/lo|cal' }, /PREFIX may hold only letters, digits and \. _ \/ \+ -, got "\/usr\/lo\|cal"/],
    [{ NODE: '/usr/local/bin/node;rm' }, /NODE may hold only/],
  ] as const) {
    const stage = mkdtempSync(join(dir, 'bad-'));
    const r = stagedInstall({ DESTDIR: stage, ...vars });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(stage)).toEqual([]);
  }
  const relative = spawnSync('make', ['-s', '-C', pkg, 'install', 'DESTDIR=stage'], { encoding: 'utf8' });
  expect(relative.stderr).toMatch(/DESTDIR must be empty or an absolute path, got "stage"/);
  expect(existsSync(join(pkg, 'stage'))).toBe(false);
});

describe('what the install ships', () => {
  test('the sample network is what `jailnet network create default --subnet 10.88.0.0/16` writes', () => {
    const paths = { confDir: '/nonexistent', cacheDir: '/nonexistent', cniPath: [], daemonSocket: DEFAULT_SOCKET };
    const written = `${JSON.stringify(networkTemplate(paths, [], { name: 'default', subnet: '10.88.0.0/16', internal: false, isolated: true }, true), null, 2)}\n`;
    expect(readFileSync(join(root, 'conf/networks/default.conflist'), 'utf8')).toBe(written);
  });

  test('the newsyslog entry rotates the daemon\'s log, mode 600, and signals the PID in its lock', () => {
    const lines = readFileSync(join(root, 'conf/newsyslog/jailnetd.conf'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(lines).toHaveLength(1);
    // logfilename [owner:group] mode count size when flags [/pid_file] [sig_num] (newsyslog.conf(5))
    const [file, mode, count, size, when, flags, pidFile, ...rest] = (lines[0] as string).trim().split(/\s+/);
    expect({ file, mode, pidFile, rest }).toEqual({ file: DEFAULT_DAEMON_LOG, mode: '600', pidFile: join(DEFAULT_STATE_DIR, 'lock'), rest: [] });
    expect(Number(count)).toBeGreaterThan(0);
    expect(size === '*' && when === '*').toBe(false);
    expect(flags).not.toMatch(/N/);
  });
});
