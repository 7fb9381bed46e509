import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, readConfigFile } from '../../../daemon/config';

const ROOT = join(__dirname, '../../..');

describe('jailnetd configuration', () => {
  test('the shipped example is valid', () => {
    expect(readConfigFile(join(ROOT, 'conf/jailnetd.json.example'), true)).toMatchObject({ socket: '/var/run/jailnet/jailnetd.sock', stateDir: '/var/db/jailnet' });
  });

  test('flags, with defaults from hier(7)', () => {
    const c = loadConfig(['--config', join(ROOT, 'conf/jailnetd.json.example'), '--log-level', 'debug', '--reclaim-grace', '30']);
    expect(c).toMatchObject({ logLevel: 'debug', reclaim: { intervalSeconds: 60, graceSeconds: 30 }, logFile: '/var/log/jailnetd.log' });
    expect(loadConfig(['--help'])).toBe('help');
    expect(() => loadConfig(['--bogus'])).toThrow(ConfigError);
    expect(() => loadConfig(['--socket', 'rel.sock'])).toThrow(/--socket must be an absolute path/);
    expect(() => loadConfig(['--reclaim-interval', 'soon'])).toThrow(/--reclaim-interval must be a number of seconds/);
    expect(() => loadConfig(['--config', '/nonexistent/jailnetd.json'])).toThrow(/configuration file \/nonexistent\/jailnetd.json: \/nonexistent does not exist/);
  });

  describe('paths root would use are refused unless nobody else can change them (docs/security.md)', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'jailnetd-config-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const base = () => ['--socket', join(dir, 'run', 'jailnetd.sock'), '--state-dir', join(dir, 'state')];

    test('the DNS server\'s resolv.conf: a file others may change is refused, naming the flag; a missing one is allowed', () => {
      const conf = join(dir, 'resolv.conf');
      writeFileSync(conf, 'nameserver 192.0.2.53\n', { mode: 0o644 });
      expect(loadConfig([...base(), '--resolv-conf', conf])).toMatchObject({ dns: { resolvConf: conf, rateLimit: 1000 } });
      chmodSync(conf, 0o666);
      expect(() => loadConfig([...base(), '--resolv-conf', conf])).toThrow(/^--resolv-conf: .*writable by other users/);
      expect(loadConfig([...base(), '--resolv-conf', join(dir, 'none.conf')])).toMatchObject({ dns: { resolvConf: join(dir, 'none.conf') } });
      expect(() => loadConfig([...base(), '--resolv-conf', 'resolv.conf'])).toThrow(/--resolv-conf must be an absolute path/);
      const file = join(dir, 'jailnetd.json');
      writeFileSync(file, JSON.stringify({ dns: { resolvConf: join(dir, 'none.conf'), rateLimit: 0 } }), { mode: 0o600 });
      expect(loadConfig([...base(), '--config', file])).toMatchObject({ dns: { resolvConf: join(dir, 'none.conf'), rateLimit: 0 } });
    });

    test('in a root-made 0700 temp dir they pass', () => {
      expect(loadConfig([...base(), '--log-file', join(dir, 'jailnetd.log')])).toMatchObject({ stateDir: join(dir, 'state') });
    });

    test('a state directory that is not for root only (it used to be chmod-ed), a log file that is not a log', () => {
      expect(() => loadConfig([...base(), '--state-dir', '/etc'])).toThrow(/^--state-dir: \/etc: \/etc is open to other users \(mode 0755\)/);
      expect(() => loadConfig([...base(), '--log-file', '/etc/passwd'])).toThrow(/^--log-file: \/etc\/passwd: a log file's name must end in ".log"/);
    });

    test('a world-writable configuration file, and paths from it named by their field', () => {
      const file = join(dir, 'jailnetd.json');
      const open = join(dir, 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      writeFileSync(file, JSON.stringify({ socket: join(open, 'jailnetd.sock') }));
      expect(() => loadConfig(['--config', file, '--state-dir', join(dir, 'state')])).toThrow(`${file}: field "socket": ${join(open, 'jailnetd.sock')}: ${open} is writable by other users (mode 0777)`);
      chmodSync(file, 0o666);
      expect(() => loadConfig(['--config', file])).toThrow(`configuration file ${file}: ${file} is writable by other users (mode 0666)`);
    });
  });

  test('the comparison of new ranges with the host is on unless the file or a flag turns it off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jailnetd-conf-'));
    try {
      const base = ['--socket', join(dir, 'run', 'jailnetd.sock'), '--state-dir', join(dir, 'state')];
      expect(loadConfig(base)).toMatchObject({ hostCheck: true });
      expect(loadConfig([...base, '--no-host-check'])).toMatchObject({ hostCheck: false });
      writeFileSync(join(dir, 'off.json'), JSON.stringify({ hostCheck: false }));
      expect(loadConfig([...base, '--config', join(dir, 'off.json')])).toMatchObject({ hostCheck: false });
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ hostCheck: 'no' }));
      expect(() => loadConfig([...base, '--config', join(dir, 'bad.json')])).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
