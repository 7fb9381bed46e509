import { DAEMON_NODE_OPTIONS, daemonEnv } from '../../../src/ipam/autostart';

describe('the environment the plugin starts jailnetd with', () => {
  test('adds the young-generation option to NODE_OPTIONS, keeping the caller’s options', () => {
    expect(daemonEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', NODE_OPTIONS: DAEMON_NODE_OPTIONS });
    expect(daemonEnv({ NODE_OPTIONS: '--trace-warnings' }).NODE_OPTIONS).toBe(`--trace-warnings ${DAEMON_NODE_OPTIONS}`);
  });

  test('leaves a young generation the caller chose alone', () => {
    expect(daemonEnv({ NODE_OPTIONS: '--max-semi-space-size=2' }).NODE_OPTIONS).toBe('--max-semi-space-size=2');
  });

  test('drops NODE_EXTRA_CA_CERTS, which only slows the start of a daemon that makes no TLS connection', () => {
    const env = { PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' };
    expect(daemonEnv(env)).not.toHaveProperty('NODE_EXTRA_CA_CERTS');
    expect(daemonEnv({ ...env, NODE_OPTIONS: '--max-semi-space-size=4' })).not.toHaveProperty('NODE_EXTRA_CA_CERTS');
    expect(env.NODE_EXTRA_CA_CERTS).toBeDefined();
  });
});
