import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// What `npm install -g jailnet` (or a port built from `npm pack`) puts on disk: the package is
// packed from the built tree and installed into a temporary prefix, and every executable it
// declares must run from there, with nothing of the source tree.

const root = join(__dirname, '..', '..');
const pkg = require(join(root, 'package.json')) as { name: string; bin: Record<string, string>; dependencies?: Record<string, string> };
/** docs/security.md "Test switches". */
const TEST_SWITCHES = ['JAILNET_FREEBSD_ROOT', 'JAILNET_RUN_DIR', 'JAILNET_TEST_SWITCHES'];

let dir = '';
let prefix = '';

beforeAll(() => {
  if (!existsSync(join(root, 'dist/release/cni/bridge'))) throw new Error('dist/ is missing: run `npm run build` first (scripts/test.sh does)');
  dir = mkdtempSync(join(tmpdir(), 'jailnet-pack-'));
  prefix = join(dir, 'prefix');
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })) as { filename: string }[];
  const tarball = join(dir, (packed[0] as { filename: string }).filename);
  // --prefer-offline: the dependencies come from npm's cache when `npm ci` filled it (the bundles do not need them).
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the installed package', () => {
  test('puts every declared executable on the PATH, executable', () => {
    const installed = readdirSync(join(prefix, 'bin')).sort();
    expect(installed).toEqual(Object.keys(pkg.bin).sort());
    for (const name of installed) accessSync(join(prefix, 'bin', name), constants.X_OK);
  });

  test.each(Object.keys(pkg.bin).filter((n) => n !== 'jailnet' && n !== 'jailnetd'))('%s answers CNI VERSION from the install', (name) => {
    const out = execFileSync(join(prefix, 'bin', name), [], { env: { PATH: process.env.PATH ?? '', CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.1.0"}', encoding: 'utf8', cwd: dir });
    expect(JSON.parse(out)).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  test('jailnet and jailnetd start from the install and print their usage', () => {
    const env = { PATH: process.env.PATH ?? '' };
    expect(execFileSync(join(prefix, 'bin', 'jailnet'), ['--help'], { env, encoding: 'utf8', cwd: dir })).toMatch(/jailnet attach <jail>/);
    expect(execFileSync(join(prefix, 'bin', 'jailnetd'), ['--help'], { env, encoding: 'utf8', cwd: dir })).toMatch(/--socket/);
  });

  test('ships the rc.d script, pf.conf hooks, documentation and manual pages, and none of the sources', () => {
    const lib = join(prefix, 'lib', 'node_modules', pkg.name);
    expect(existsSync(join(lib, 'conf', 'rc.d', 'jailnetd'))).toBe(true);
    expect(existsSync(join(lib, 'docs', 'plugins.md'))).toBe(true);
    // package.json "man": npm links the pages into the prefix's share/man.
    for (const page of ['man8/jailnet.8', 'man8/jailnetd.8', 'man5/jailnet-networks.5', 'man7/jailnet-hooks.7']) expect(existsSync(join(prefix, 'share', 'man', page))).toBe(true);
    expect(existsSync(join(lib, 'src'))).toBe(false);
    expect(existsSync(join(lib, 'test'))).toBe(false);
  });

  test('fetches no dependency: every executable is whole (issue 10 item 14)', () => {
    const lib = join(prefix, 'lib', 'node_modules', pkg.name);
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(existsSync(join(lib, 'node_modules'))).toBe(false);
    expect(readdirSync(join(prefix, 'lib', 'node_modules'))).toEqual([pkg.name]);
  });

  test('the installed executables have no test switches (src/util/test-switches.ts) and no source maps', () => {
    const lib = join(prefix, 'lib', 'node_modules', pkg.name);
    const shipped = readdirSync(join(lib, 'dist'), { recursive: true }).map(String).filter((f) => statSync(join(lib, 'dist', f)).isFile());
    expect(shipped.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(shipped.sort()).toEqual(Object.values(pkg.bin).map((b) => b.replace(/^dist\//, '')).sort());
    for (const f of shipped) {
      const text = readFileSync(join(lib, 'dist', f), 'utf8');
      for (const name of TEST_SWITCHES) expect(`${f}: ${text.includes(name) ? name : 'none'}`).toBe(`${f}: none`);
    }
    // The control: the test build under dist/ has them.
    expect(readFileSync(join(root, 'dist', 'cni', 'bridge'), 'utf8')).toContain('JAILNET_FREEBSD_ROOT');
  });
});
