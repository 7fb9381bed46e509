import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AllocateResponse, LeaseView, StatusResponse } from '../../../src/ipam/api-types';
import { isRoot, Sandbox, type DaemonProcess } from '../helpers/sandbox';

/** jailnetd's HTTP API against a real daemon process. */

const RANGES = [[{ subnet: '10.50.0.0/24' }]];
const req = (containerID: string, extra: Record<string, unknown> = {}) => ({ network: 'api', containerID, ifname: 'eth0', ranges: RANGES, ...extra });

let sb: Sandbox;
let daemon: DaemonProcess;

beforeAll(async () => {
  sb = new Sandbox('api');
  daemon = await sb.startDaemon();
});
afterAll(() => sb.cleanup());

/** Leases and journal bytes: what "changes nothing" is checked against. */
async function footprint(): Promise<string> {
  const leases = await sb.api<{ leases: LeaseView[] }>('GET', '/v1/leases');
  const ports = await sb.api('GET', '/v1/ports');
  const journal = readdirSync(sb.stateDir)
    .filter((f) => f.startsWith('journal.'))
    .map((f) => statSync(join(sb.stateDir, f)).size);
  return JSON.stringify([leases.body, ports.body, journal]);
}

describe('leases', () => {
  test('allocate, repeat, check, list, release', async () => {
    const a = await sb.api<AllocateResponse>('POST', '/v1/allocate', req('web', { jail: 'webjail' }));
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ created: true, lease: { network: 'api', containerID: 'web', ifname: 'eth0', jail: 'webjail', ips: [{ address: '10.50.0.2/24', gateway: '10.50.0.1', static: false }], inRange: true } });
    const again = await sb.api<AllocateResponse>('POST', '/v1/allocate', req('web'));
    expect(again.body.created).toBe(false);
    expect(again.body.lease.ips).toEqual(a.body.lease.ips);
    expect((await sb.api('POST', '/v1/check', { network: 'api', containerID: 'web', ifname: 'eth0' })).status).toBe(200);
    const list = await sb.api<{ leases: LeaseView[] }>('GET', '/v1/leases?network=api&container=web');
    expect(list.body.leases.map((l) => l.containerID)).toEqual(['web']);
    const rel = await sb.api<{ released: LeaseView | null }>('POST', '/v1/release', { network: 'api', containerID: 'web', ifname: 'eth0' });
    expect(rel.body.released?.ips[0]?.address).toBe('10.50.0.2/24');
    expect((await sb.api<{ released: null }>('POST', '/v1/release', { network: 'api', containerID: 'web', ifname: 'eth0' })).body.released).toBeNull();
    const gone = await sb.api<{ error: { reason: string } }>('POST', '/v1/check', { network: 'api', containerID: 'web', ifname: 'eth0' });
    expect(gone.status).toBe(404);
    expect(gone.body.error.reason).toBe('no-lease');
  });

  test('status, health and metrics', async () => {
    await sb.api('POST', '/v1/allocate', req('m1'));
    const st = await sb.api<StatusResponse>('GET', '/v1/status?network=api');
    expect(st.body.networks).toHaveLength(1);
    expect(st.body.networks[0]).toMatchObject({ name: 'api', leases: 1, rangeSets: [{ family: 4, capacity: 253, held: 1, free: 252 }] });
    expect(st.body.pid).toBe(daemon.pid);
    expect((await sb.api('GET', '/v1/health')).body).toMatchObject({ status: 'ok' });
    const m = await sb.api('GET', '/v1/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/^# HELP jailnetd_up /m);
    expect(m.text).toMatch(/^jailnetd_leases\{network="api"\} 1$/m);
    expect(m.text).toMatch(/^jailnetd_pool_free_addresses\{network="api",range_set="0"\} 252$/m);
    expect(m.text).toMatch(/^jailnetd_journal_commits_total \d+$/m);
    expect(m.text).toMatch(/^jailnetd_http_requests_total\{route="\/v1\/allocate",status="200"\} \d+$/m);
  });

  test('a changed range keeps the lease, lists it as out of range, allocates from the new range', async () => {
    const ranges = [[{ subnet: '10.51.0.0/24' }]];
    await sb.api('POST', '/v1/allocate', { network: 'moving', containerID: 'old', ifname: 'eth0', ranges });
    const next = await sb.api<AllocateResponse>('POST', '/v1/allocate', { network: 'moving', containerID: 'new', ifname: 'eth0', ranges: [[{ subnet: '10.52.0.0/24' }]] });
    expect(next.body.lease.ips[0]?.address).toBe('10.52.0.2/24');
    const st = await sb.api<StatusResponse>('GET', '/v1/status?network=moving');
    expect(st.body.networks[0]?.configChangedAt).toBeDefined();
    expect(st.body.networks[0]?.outOfRange.map((l) => [l.containerID, l.ips[0]?.address, l.inRange])).toEqual([['old', '10.51.0.2/24', false]]);
    const check = await sb.api<{ error: { reason: string; message: string } }>('POST', '/v1/check', { network: 'moving', containerID: 'old', ifname: 'eth0' });
    expect(check.status).toBe(409);
    expect(check.body.error.reason).toBe('lease-out-of-range');
    expect(sb.log()).toMatch(/ranges of network moving changed; existing leases are kept/);
  });

  test('new ranges brought by a refused ADD are kept; the refusal takes no lease', async () => {
    await sb.api('POST', '/v1/allocate', { network: 'shifting', containerID: 'a', ifname: 'eth0', ranges: [[{ subnet: '10.53.0.0/24' }]] });
    const refused = await sb.api<{ error: { reason: string } }>('POST', '/v1/allocate', { network: 'shifting', containerID: 'b', ifname: 'eth0', ranges: [[{ subnet: '10.54.0.0/24' }]], ips: ['10.53.0.9'] });
    expect(refused.status).toBe(422);
    expect(refused.body.error.reason).toBe('address-not-allowed');
    const st = await sb.api<StatusResponse>('GET', '/v1/status?network=shifting');
    expect(st.body.networks[0]?.rangeSets.map((s) => s.ranges.map((r) => r.subnet))).toEqual([['10.54.0.0/24']]);
    const leases = await sb.api<{ leases: { containerID: string }[] }>('GET', '/v1/leases?network=shifting');
    expect(leases.body.leases.map((l) => l.containerID)).toEqual(['a']);
  });
});

describe('malformed requests get a 4xx with the reason and change nothing', () => {
  const cases: [string, string, unknown, number, string, RegExp][] = [
    ['POST', '/v1/allocate', '{"network": ', 400, 'malformed-body', /not valid JSON/],
    ['POST', '/v1/allocate', '', 400, 'malformed-body', /body is empty/],
    ['POST', '/v1/allocate', '[1,2]', 400, 'invalid-request', /must be object/],
    ['POST', '/v1/allocate', { network: 'api', containerID: 'x', ranges: RANGES }, 400, 'invalid-request', /field "ifname" is required/],
    ['POST', '/v1/allocate', { ...req('x'), ifname: 'way-too-long-ifname' }, 400, 'invalid-request', /field "ifname" has invalid value/],
    ['POST', '/v1/allocate', { ...req('x'), containerID: '-bad' }, 400, 'invalid-request', /field "containerID"/],
    ['POST', '/v1/allocate', { ...req('x'), network: 'a/b' }, 400, 'invalid-request', /field "network"/],
    ['POST', '/v1/allocate', { ...req('x'), ranges: [] }, 400, 'invalid-request', /field "ranges" must NOT have fewer than 1 items/],
    ['POST', '/v1/allocate', { ...req('x'), ranges: [[{ subnet: 5 }]] }, 400, 'invalid-request', /field "ranges\[0\]\[0\].subnet" must be string/],
    ['POST', '/v1/allocate', { ...req('x'), surprise: 1 }, 400, 'invalid-request', /unknown field "surprise"/],
    ['POST', '/v1/allocate', { ...req('x'), ranges: [[{ subnet: '10.50.0.0/33' }]] }, 400, 'invalid-config', /ranges\[0\]\[0\].subnet: "10.50.0.0\/33" is not a subnet/],
    ['POST', '/v1/allocate', { ...req('x'), ips: ['10.99.0.1'] }, 422, 'address-not-allowed', /not in any range of network api/],
    ['POST', '/v1/allocate', { ...req('x'), ips: ['not-an-ip'] }, 422, 'address-not-allowed', /is not an IP address/],
    ['POST', '/v1/gc', { network: 'api' }, 400, 'invalid-request', /field "validAttachments" is required/],
    ['POST', '/v1/ports/reserve', { network: 'api', containerID: 'x', ifname: 'eth0', ports: [{ protocol: 'icmp', hostPort: 1 }] }, 400, 'invalid-request', /ports\[0\].protocol" must be one of "tcp", "udp", "sctp"/],
    ['POST', '/v1/ports/reserve', { network: 'api', containerID: 'x', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 70000 }] }, 400, 'invalid-request', /ports\[0\].hostPort/],
    ['POST', '/v1/ports/reserve', { network: 'api', containerID: 'x', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 90, hostPortEnd: 80 }] }, 400, 'invalid-request', /hostPortEnd: 80 is below hostPort 90/],
    ['POST', '/v1/release', { network: 'api' }, 400, 'invalid-request', /field "containerID" is required/],
    ['GET', '/v1/nothing', undefined, 404, 'not-found', /no such path/],
    ['GET', '/v1/allocate', undefined, 405, 'method-not-allowed', /GET is not allowed on \/v1\/allocate/],
  ];

  test.each(cases)('%s %s %j -> %i %s', async (method, path, body, status, reason, message) => {
    const before = await footprint();
    const r = await sb.api<{ error: { reason: string; message: string } }>(method, path, body);
    expect(r.status).toBe(status);
    expect(r.body.error.reason).toBe(reason);
    expect(r.body.error.message).toMatch(message);
    expect(await footprint()).toBe(before);
  });

  test('an oversized body is refused', async () => {
    const before = await footprint();
    const r = await sb.api<{ error: { reason: string } }>('POST', '/v1/allocate', `{"pad": "${'x'.repeat(1_100_000)}"}`);
    expect(r.status).toBe(400);
    expect(r.body.error.reason).toBe('malformed-body');
    expect(await footprint()).toBe(before);
  });
});

describe('host ports', () => {
  test('reserve, conflict naming the holder, list, release', async () => {
    const a = await sb.api('POST', '/v1/ports/reserve', { network: 'api', containerID: 'web', ifname: 'eth0', jail: 'webjail', ports: [{ protocol: 'tcp', hostPort: 8080 }, { protocol: 'udp', hostPort: 5000, hostPortEnd: 5009 }] });
    expect(a.status).toBe(200);
    const before = await footprint();
    const c = await sb.api<{ error: { reason: string; message: string; holder: unknown } }>('POST', '/v1/ports/reserve', { network: 'api', containerID: 'other', ifname: 'eth0', ports: [{ hostIP: '10.0.0.1', protocol: 'tcp', hostPort: 8080 }] });
    expect(c.status).toBe(409);
    expect(c.body.error).toMatchObject({ reason: 'port-conflict', holder: { network: 'api', containerID: 'web', ifname: 'eth0', jail: 'webjail' } });
    expect(c.body.error.message).toMatch(/10\.0\.0\.1:8080\/tcp is already reserved .* by container web interface eth0 on network api, jail webjail/);
    expect(await footprint()).toBe(before);
    const list = await sb.api<{ reservations: { containerID: string; ports: unknown[] }[] }>('GET', '/v1/ports?container=web');
    expect(list.body.reservations).toEqual([{ network: 'api', containerID: 'web', ifname: 'eth0', jail: 'webjail', ports: [{ hostIP: '', protocol: 'tcp', hostPort: 8080, hostPortEnd: 8080 }, { hostIP: '', protocol: 'udp', hostPort: 5000, hostPortEnd: 5009 }] }]);
    await sb.api('POST', '/v1/ports/release', { network: 'api', containerID: 'web', ifname: 'eth0' });
    expect((await sb.api('POST', '/v1/ports/reserve', { network: 'api', containerID: 'other', ifname: 'eth0', ports: [{ protocol: 'tcp', hostPort: 8080 }] })).status).toBe(200);
  });
});

describe('files and permissions', () => {
  test('socket 0600 in a 0700 directory, state 0700 with 0600 files', () => {
    expect(statSync(sb.socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(sb.dir, 'run')).mode & 0o777).toBe(0o700);
    expect(statSync(sb.stateDir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(sb.stateDir)) expect(statSync(join(sb.stateDir, f)).mode & 0o777).toBe(0o600);
  });

  (isRoot ? test : test.skip)('another user cannot connect, even where the directories let it reach the socket', async () => {
    const open = new Sandbox('perm');
    try {
      // Only the socket's own mode stands between "nobody" and the daemon here.
      chmodSync(open.dir, 0o755);
      open.socket = join(open.dir, 'jailnetd.sock');
      await open.startDaemon();
      expect(statSync(open.socket).mode & 0o777).toBe(0o600);
      const script = `const s = require('net').connect(${JSON.stringify(open.socket)}); s.on('connect', () => { console.log('CONNECTED'); process.exit(0); }); s.on('error', (e) => { console.log(e.code); process.exit(0); });`;
      const asNobody = await new Promise<string>((resolve, reject) => {
        const child = spawn('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(out.trim()));
      });
      expect(asNobody).toBe('EACCES');
      expect((await open.api('GET', '/v1/health')).status).toBe(200);
    } finally {
      await open.cleanup();
    }
  });

  test('a second daemon on the same state directory refuses to start', async () => {
    const child = spawn(sb.jailnetd, sb.daemonArgs(['--socket', join(sb.dir, 'second.sock')]), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(75);
    expect(err).toMatch(/is held by process \d+: another jailnetd uses this state directory/);
  });

  test('settings come from the configuration file; flags win over it', async () => {
    const other = new Sandbox('conf');
    try {
      const conf = join(other.dir, 'jailnetd.json');
      writeFileSync(conf, JSON.stringify({ socket: join(other.dir, 'from-file.sock'), stateDir: join(other.dir, 'file-state'), logLevel: 'debug', reclaim: { intervalSeconds: 0 } }));
      other.socket = join(other.dir, 'from-file.sock');
      other.stateDir = join(other.dir, 'file-state');
      const d = await other.startDaemonWith(['--config', conf, '--state-dir', join(other.dir, 'flag-state')]);
      const st = await other.api<StatusResponse>('GET', '/v1/status');
      expect(st.body.socket).toBe(join(other.dir, 'from-file.sock'));
      expect(st.body.stateDir).toBe(join(other.dir, 'flag-state'));
      await other.stopDaemon(d);
      writeFileSync(conf, JSON.stringify({ socket: 'relative.sock' }));
      const bad = spawn(other.jailnetd, ['--config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      bad.stderr.on('data', (b: Buffer) => (err += b.toString()));
      expect(await new Promise((r) => bad.on('exit', r))).toBe(2);
      expect(err).toMatch(/field "socket" has invalid value "relative.sock"/);
    } finally {
      await other.cleanup();
    }
  });
});
