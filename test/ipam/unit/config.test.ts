import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    expect(() => loadConfig(['--config', '/nonexistent/jailnetd.json'])).toThrow(/cannot read \/nonexistent\/jailnetd.json/);
  });

  test('the comparison of new ranges with the host is on unless the file or a flag turns it off', () => {
    const example = join(ROOT, 'conf/jailnetd.json.example');
    expect(loadConfig(['--config', example])).toMatchObject({ hostCheck: true });
    expect(loadConfig(['--config', example, '--no-host-check'])).toMatchObject({ hostCheck: false });
    const dir = mkdtempSync(join(tmpdir(), 'jailnetd-conf-'));
    try {
      writeFileSync(join(dir, 'off.json'), JSON.stringify({ hostCheck: false }));
      expect(loadConfig(['--config', join(dir, 'off.json')])).toMatchObject({ hostCheck: false });
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ hostCheck: 'no' }));
      expect(() => loadConfig(['--config', join(dir, 'bad.json')])).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
