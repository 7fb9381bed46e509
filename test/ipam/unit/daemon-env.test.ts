import { dirname } from 'node:path';
import { DAEMON_MALLOC_ARENA_MAX, DAEMON_NODE_OPTIONS, DAEMON_PATH_DIRS, daemonEnv } from '../../../src/ipam/autostart';

describe('the environment the plugin starts jailnetd with: an allow-list', () => {
  const runtime = {
    PATH: '/home/u/bin:/usr/bin',
    NODE_OPTIONS: '--require /tmp/evil.js',
    LD_PRELOAD: '/tmp/evil.so',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
    HOME: '/root',
    MALLOC_ARENA_MAX: '64',
    CNI_COMMAND: 'ADD',
    TZ: 'Europe/Berlin',
    LANG: 'C.UTF-8',
    JAILNET_LOG_LEVEL: 'debug',
  };

  test('a fixed PATH (this node first), the young-generation option only, glibc\'s malloc arenas capped, the time zone, the locale and jailnet\'s own settings', () => {
    expect(daemonEnv(runtime)).toEqual({
      PATH: `${dirname(process.execPath)}:${DAEMON_PATH_DIRS}`,
      NODE_OPTIONS: DAEMON_NODE_OPTIONS,
      MALLOC_ARENA_MAX: DAEMON_MALLOC_ARENA_MAX,
      TZ: 'Europe/Berlin',
      LANG: 'C.UTF-8',
      JAILNET_LOG_LEVEL: 'debug',
    });
  });

  test('in the test build (and from the sources) the test switches reach the daemon; the release build has none (test/process/package-install.test.ts)', () => {
    expect(daemonEnv({ JAILNET_FREEBSD_ROOT: '/tmp/emu', JAILNET_RUN_DIR: '/tmp/emu/run' })).toMatchObject({ JAILNET_FREEBSD_ROOT: '/tmp/emu', JAILNET_RUN_DIR: '/tmp/emu/run' });
  });
});
