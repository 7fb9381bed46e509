import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * conf/rc.d/jailnetd with a stub rc.subr (no FreeBSD here): the command line it hands to
 * run_rc_command. The real rc.subr is documented in rc.subr(8).
 */
function commandLine(rcConf: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'jailnet-rc-'));
  try {
    writeFileSync(join(dir, 'rc.subr'), 'load_rc_config() { :; }\nrun_rc_command() { echo "$command $command_args"; }\n');
    const script = readFileSync(join(__dirname, '../../../conf/rc.d/jailnetd'), 'utf8').replace('. /etc/rc.subr', `. ${join(dir, 'rc.subr')}`);
    writeFileSync(join(dir, 'jailnetd'), script);
    return execFileSync('/bin/sh', [join(dir, 'jailnetd'), 'start'], { env: { PATH: '/usr/bin:/bin', ...rcConf }, encoding: 'utf8' }).trim().replace(/\s+/g, ' ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('rc.d script', () => {
  test('runs jailnetd under daemon(8), with node options, supervised and restarted', () => {
    expect(commandLine({})).toBe('/usr/sbin/daemon -f -r -P /var/run/jailnetd.pid -S -T jailnetd /usr/local/bin/node --max-semi-space-size=8 /usr/local/sbin/jailnetd');
  });

  test('passes the configuration file and extra arguments to jailnetd, not to daemon(8)', () => {
    expect(commandLine({ jailnetd_config: '/usr/local/etc/jailnet/jailnetd.json', jailnetd_args: '--log-level debug' })).toBe(
      '/usr/sbin/daemon -f -r -P /var/run/jailnetd.pid -S -T jailnetd /usr/local/bin/node --max-semi-space-size=8 /usr/local/sbin/jailnetd --config /usr/local/etc/jailnet/jailnetd.json --log-level debug',
    );
  });
});
