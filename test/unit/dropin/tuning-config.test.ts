import { CniCode } from '../../../src/cni/errors';
import { log } from '../../../src/log/logger';
import { LINUX_SYSCTLS, loadTuningConfig } from '../../../src/tuning/plugin';

// The tuning plugin's configuration (pure): the reference's fields, Linux sysctl names mapped
// where FreeBSD has the same per-vnet knob, everything else ignored with one log line each and
// never an error; bad values of the fields it applies are refused naming the field.

const base = { cniVersion: '1.0.0', name: 'bridge', type: 'tuning' };
let warnings: string[];
beforeEach(() => {
  warnings = [];
  jest.spyOn(log, 'warn').mockImplementation((m: string) => void warnings.push(m));
});
afterEach(() => jest.restoreAllMocks());

test('Linux names become their FreeBSD per-vnet knobs; FreeBSD names pass as they are', () => {
  const conf = loadTuningConfig({
    ...base,
    sysctl: { 'net.ipv4.ip_forward': '1', 'net.ipv4.ip_default_ttl': '32', 'net.ipv6.conf.all.hop_limit': '10', 'net.ipv4.tcp_syncookies': '0', 'net.inet.tcp.mssdflt': '1400', 'net.inet6.ip6.dad_count': '0' },
  });
  expect(conf.sysctls).toEqual({ 'net.inet.ip.forwarding': '1', 'net.inet.ip.ttl': '32', 'net.inet6.ip6.hlim': '10', 'net.inet.tcp.syncookies': '0', 'net.inet.tcp.mssdflt': '1400', 'net.inet6.ip6.dad_count': '0' });
  expect(warnings).toEqual([]);
  // Every mapped name lands on a per-vnet FreeBSD name.
  for (const freebsd of Object.values(LINUX_SYSCTLS)) expect(freebsd).toMatch(/^net\.inet6?\./);
});

test('sysctls that are not per vnet on FreeBSD, and Linux names without an equivalent, are ignored with one warning each', () => {
  const conf = loadTuningConfig({ ...base, sysctl: { 'net.core.somaxconn': '1024', 'kern.ipc.maxsockbuf': '1', 'net.ipv4.conf.eth0.arp_filter': '1', 'net.inet.ip.ttl': '60' } });
  expect(conf.sysctls).toEqual({ 'net.inet.ip.ttl': '60' });
  expect(warnings).toEqual([expect.stringContaining('net.core.somaxconn ignored'), expect.stringContaining('kern.ipc.maxsockbuf ignored'), expect.stringContaining('net.ipv4.conf.eth0.arp_filter ignored')]);
});

test('allmulti, txQLen and fields the plugin does not know are never an error', () => {
  const conf = loadTuningConfig({ ...base, allmulti: true, txQLen: 1000, someFutureField: { x: 1 }, mtu: 1400, promisc: true });
  expect(conf).toMatchObject({ mtu: 1400, promisc: true, sysctls: {} });
  expect(warnings).toEqual([expect.stringContaining('"allmulti" ignored'), expect.stringContaining('"txQLen" ignored')]);
});

test('runtimeConfig.mac (the mac capability) wins over mac', () => {
  expect(loadTuningConfig({ ...base, mac: '02:00:00:00:00:01', runtimeConfig: { mac: '02:00:00:00:00:02' } }).mac).toBe('02:00:00:00:00:02');
  expect(loadTuningConfig({ ...base, mac: '02:00:00:00:00:01' }).mac).toBe('02:00:00:00:00:01');
});

test.each([
  [{ sysctl: { 'net.inet.ip.ttl': '64; rm -rf /' } }, 'field "sysctl.net.inet.ip.ttl"'],
  [{ sysctl: { 'net.ipv4.ip_default_ttl': 'abc' } }, 'field "sysctl.net.ipv4.ip_default_ttl"'],
  [{ mac: 'not-a-mac' }, 'field "mac"'],
  [{ runtimeConfig: { mac: '02:00:00:00:00' } }, 'field "mac"'],
  [{ mtu: 40 }, 'field "mtu"'],
  [{ mtu: 70000 }, 'field "mtu"'],
  [{ promisc: 'yes' }, 'promisc'],
])('a bad value of a field it applies is refused with code 7 naming the field: %j', (extra, field) => {
  expect(() => loadTuningConfig({ ...base, ...extra })).toThrow(expect.objectContaining({ code: CniCode.InvalidNetworkConfig, message: expect.stringContaining(field) }));
});
