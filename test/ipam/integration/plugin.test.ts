import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LeaseView } from '../../../src/ipam/api-types';
import { cniEnv, Sandbox, type PluginRun } from '../helpers/sandbox';

/** The jailnet-ipam executable against jailnetd, as a CNI runtime runs it. */

jest.setTimeout(180_000);

let sb: Sandbox;
beforeAll(() => {
  sb = new Sandbox('plugin');
});
afterAll(() => sb.cleanup());

function conf(name: string, ranges: unknown, extra: Record<string, unknown> = {}, ipamExtra: Record<string, unknown> = {}) {
  return { cniVersion: '1.0.0', name, type: 'bridge', ipam: sb.ipam(ranges, ipamExtra), ...extra };
}

const add = (c: unknown, cid: string, extra: Record<string, string> = {}) => sb.runPlugin(cniEnv('ADD', cid, 'eth0', extra), c);

async function leases(network: string): Promise<LeaseView[]> {
  return (await sb.api<{ leases: LeaseView[] }>('GET', `/v1/leases?network=${network}`)).body.leases;
}

function journalBytes(): number {
  return readdirSync(sb.stateDir)
    .filter((f) => f.startsWith('journal.'))
    .reduce((n, f) => n + statSync(join(sb.stateDir, f)).size, 0);
}

function expectError(r: PluginRun, code: number, msg: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.json).toMatchObject({ code });
  expect(String(r.json?.msg)).toMatch(msg);
}

test('200 concurrent ADDs start the daemon once and get 200 distinct addresses', async () => {
  const c = conf('crowd', [[{ subnet: '10.70.0.0/24' }]]);
  const runs = await Promise.all(Array.from({ length: 200 }, (_, i) => add(c, `crowd${i}`)));
  const failures = runs.filter((r) => r.code !== 0).map((r) => r.stdout + r.stderr);
  expect(failures).toEqual([]);
  const addresses = runs.map((r) => (r.json?.ips as { address: string }[])[0]?.address);
  expect(new Set(addresses).size).toBe(200);
  for (const a of addresses) expect(a).toMatch(/^10\.70\.0\.\d+\/24$/);
  // Every daemon started logs either that it listens or that another one holds the state.
  const starts = sb.log().match(/jailnetd \S+ started: listening|not starting a second one/g) ?? [];
  expect(starts).toEqual([expect.stringMatching(/started: listening/)]);
  const pid = sb.lockHolder();
  expect(pid).toBeDefined();
  sb.adopt(pid as number);
  // It opens daemon.logFile by name, so that it can reopen it after newsyslog(8) rotated it.
  expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['--log-file', sb.logFile]));
  expect((await leases('crowd')).length).toBe(200);
});

test('the result is an IPAM result: ips with gateway, routes and dns from the configuration, no interfaces', async () => {
  const r = await add(conf('shape', [[{ subnet: '10.71.0.0/24' }]], {}, { routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['10.71.0.1'] } }), 'shape1');
  expect(r.code).toBe(0);
  expect(r.json).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.71.0.2/24', gateway: '10.71.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['10.71.0.1'] } });
  const again = await add(conf('shape', [[{ subnet: '10.71.0.0/24' }]], {}, { routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['10.71.0.1'] } }), 'shape1');
  expect(again.json).toEqual(r.json);
});

test('IPv6 and dual stack; 0.4.0 results carry ips[].version', async () => {
  const v6 = await add(conf('six', [[{ subnet: 'fd71::/64' }]]), 'six1');
  expect(v6.json?.ips).toEqual([{ address: 'fd71::2/64', gateway: 'fd71::1' }]);
  const dual = await add({ ...conf('dual', [[{ subnet: '10.72.0.0/16' }], [{ subnet: 'fd72::/64', gateway: 'fd72::ffff' }]]), cniVersion: '0.4.0' }, 'dual1');
  expect(dual.code).toBe(0);
  expect(dual.json).toEqual({
    cniVersion: '0.4.0',
    ips: [
      { version: '4', address: '10.72.0.2/16', gateway: '10.72.0.1' },
      { version: '6', address: 'fd72::1/64', gateway: 'fd72::ffff' },
    ],
    // As host-local's: the dns object is there, empty, when nothing configures it.
    dns: {},
  });
  const legacy = await add({ cniVersion: '1.0.0', name: 'legacyform', type: 'bridge', ipam: { ...sb.ipam(undefined), ranges: undefined, subnet: '10.73.0.0/24', rangeStart: '10.73.0.100' } }, 'l1');
  expect(legacy.json?.ips).toEqual([{ address: '10.73.0.100/24', gateway: '10.73.0.1' }]);
});

test('pool exhaustion gives a clear error and changes nothing', async () => {
  const c = conf('tiny', [[{ subnet: '10.74.0.0/29' }]]);
  for (let i = 0; i < 5; i++) expect((await add(c, `tiny${i}`)).code).toBe(0);
  const before = [await leases('tiny'), journalBytes()];
  const r = await add(c, 'tiny5');
  expectError(r, 102, /no free address in network tiny: range set 0 \(10\.74\.0\.1-10\.74\.0\.6 in 10\.74\.0\.0\/29\) has all 5 addresses held/);
  expect(String(r.json?.details)).toMatch(/CNI GC/);
  expect([await leases('tiny'), journalBytes()]).toEqual(before);
  const status = await sb.runPlugin({ CNI_COMMAND: 'STATUS' }, { ...c, cniVersion: '1.1.0' });
  expectError(status, 50, /network tiny has no free address left/);
});

describe('static requests', () => {
  const c = (extra: Record<string, unknown> = {}) => conf('fixed', [[{ subnet: '10.75.0.0/24' }], [{ subnet: 'fd75::/64' }]], extra);

  test('granted through runtimeConfig.ips, args.cni.ips and CNI_ARGS IP=', async () => {
    const a = await add(c({ runtimeConfig: { ips: ['10.75.0.50/24'] } }), 's1');
    expect(a.json?.ips).toEqual([{ address: '10.75.0.50/24', gateway: '10.75.0.1' }, { address: 'fd75::2/64', gateway: 'fd75::1' }]);
    const b = await add(c({ args: { cni: { ips: ['fd75::51'] } } }), 's2');
    // s1's static address moved the cursor of its range set, as host-local's last_reserved_ip does.
    expect((b.json?.ips as { address: string }[]).map((ip) => ip.address)).toEqual(['10.75.0.51/24', 'fd75::51/64']);
    const d = await add(c(), 's3', { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.75.0.52,fd75::52' });
    expect((d.json?.ips as { address: string }[]).map((ip) => ip.address)).toEqual(['10.75.0.52/24', 'fd75::52/64']);
  });

  test('refused with a clear error', async () => {
    const before = [await leases('fixed'), journalBytes()];
    expectError(await add(c({ runtimeConfig: { ips: ['10.75.0.50/24'] } }), 'x1'), 102, /requested address 10\.75\.0\.50\/24 on network fixed is already held by container s1 interface eth0/);
    expectError(await add(c(), 'x2', { CNI_ARGS: 'IP=10.99.0.1' }), 7, /requested address 10\.99\.0\.1 is not in any range of network fixed \(10\.75\.0\.1-10\.75\.0\.254 in 10\.75\.0\.0\/24\)/);
    expectError(await add(c(), 'x3', { CNI_ARGS: 'IP=10.75.0.1' }), 7, /is the gateway address of network fixed/);
    expectError(await add(c(), 'x4', { CNI_ARGS: 'IP=banana' }), 7, /"banana" is not an IP address/);
    expectError(await add(c(), 'x5', { CNI_ARGS: 'IP=10.75.0.60;Color=blue' }), 4, /CNI_ARGS: unknown key "Color"/);
    expect([await leases('fixed'), journalBytes()]).toEqual(before);
  });
});

test('DEL releases and is idempotent; CHECK verifies the lease against prevResult', async () => {
  const c = conf('life', [[{ subnet: '10.76.0.0/24' }]]);
  const r = await add(c, 'life1');
  const prevResult = r.json;
  expect((await sb.runPlugin(cniEnv('CHECK', 'life1'), { ...c, prevResult })).code).toBe(0);
  const wrongPrev = { ...prevResult, ips: [{ address: '10.76.0.99/24' }] };
  expectError(await sb.runPlugin(cniEnv('CHECK', 'life1'), { ...c, prevResult: wrongPrev }), 103, /holds 10\.76\.0\.2\/24 on network life, which prevResult does not list/);
  const del = await sb.runPlugin(cniEnv('DEL', 'life1', 'eth0', { CNI_NETNS: '' }), c);
  expect(del.code).toBe(0);
  expect(del.stdout).toBe('');
  expect(await leases('life')).toEqual([]);
  expect((await sb.runPlugin(cniEnv('DEL', 'life1'), c)).code).toBe(0);
  expectError(await sb.runPlugin(cniEnv('CHECK', 'life1'), { ...c, prevResult }), 103, /container life1 interface eth0 holds no address on network life/);
});

test('GC releases the attachments not in cni.dev/valid-attachments, and nothing else', async () => {
  const c = { ...conf('gc', [[{ subnet: '10.77.0.0/24' }]]), cniVersion: '1.1.0' };
  const other = { ...conf('gc-other', [[{ subnet: '10.78.0.0/24' }]]), cniVersion: '1.1.0' };
  for (const cid of ['keep1', 'keep2', 'gone1', 'gone2']) expect((await add(c, cid)).code).toBe(0);
  expect((await add(other, 'gone1')).code).toBe(0);
  const gc = await sb.runPlugin({ CNI_COMMAND: 'GC' }, { ...c, 'cni.dev/valid-attachments': [{ containerID: 'keep1', ifname: 'eth0' }, { containerID: 'keep2', ifname: 'eth0' }] });
  expect(gc.code).toBe(0);
  expect((await leases('gc')).map((l) => l.containerID).sort()).toEqual(['keep1', 'keep2']);
  expect((await leases('gc-other')).map((l) => l.containerID)).toEqual(['gone1']);
  expect(sb.log()).toMatch(/GC released a lease .*"containerID":"gone1"/);
});

describe('STATUS and VERSION', () => {
  test('VERSION', async () => {
    const r = await sb.runPlugin({ CNI_COMMAND: 'VERSION' }, { cniVersion: '1.1.0' });
    expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  test('STATUS succeeds when the daemon answers', async () => {
    const r = await sb.runPlugin({ CNI_COMMAND: 'STATUS' }, { ...conf('crowd', [[{ subnet: '10.70.0.0/24' }]]), cniVersion: '1.1.0' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });

  test('STATUS answers 50 when the daemon can be neither reached nor started', async () => {
    const nowhere = join(sb.dir, 'nowhere/jailnetd.sock');
    const off = await sb.runPlugin({ CNI_COMMAND: 'STATUS' }, { ...conf('s', [[{ subnet: '10.79.0.0/24' }]], {}, { socket: nowhere, autostart: false }), cniVersion: '1.1.0' });
    expectError(off, 50, new RegExp(`jailnetd is not running \\(nothing listens on ${nowhere}\\)`));
    expect(String(off.json?.details)).toMatch(/service jailnetd start.*"autostart": true/);
    const broken = await sb.runPlugin({ CNI_COMMAND: 'STATUS' }, { ...conf('s', [[{ subnet: '10.79.0.0/24' }]], {}, { socket: nowhere, daemon: { path: '/nonexistent/jailnetd', logFile: join(sb.dir, 'x.log') } }), cniVersion: '1.1.0' });
    expectError(broken, 50, /jailnetd is not running at .* and could not be started: field "ipam.daemon.path": \/nonexistent\/jailnetd: \/nonexistent does not exist/);
    const add2 = await add(conf('s', [[{ subnet: '10.79.0.0/24' }]], {}, { socket: nowhere, autostart: false }), 'z');
    expectError(add2, 50, /jailnetd is not running/);
  });
});

describe('configuration errors name the field (code 7)', () => {
  test.each([
    [{ subnet: '10.80.0.1/24' }, /field "ipam\.ranges\[0\]\[0\]\.subnet": network 10\.80\.0\.1\/24 has host bits set/],
    [{ subnet: '10.80.0.0/24', rangeStart: '10.81.0.1' }, /field "ipam\.ranges\[0\]\[0\]\.rangeStart": 10\.81\.0\.1 is not in network 10\.80\.0\.0\/24/],
    [{ rangeStart: '10.80.0.1' }, /field "ipam\.ranges\[0\]\[0\]\.subnet" is required/],
  ])('%j', async (range, msg) => {
    expectError(await add(conf('bad', [[range]]), 'b1'), 7, msg);
  });

  test('no ranges at all', async () => {
    expectError(await add({ cniVersion: '1.0.0', name: 'bad', type: 'bridge', ipam: { type: 'jailnet-ipam', socket: sb.socket } }, 'b1'), 7, /field "ipam\.ranges" is required/);
    expectError(await add({ cniVersion: '1.0.0', name: 'bad', type: 'bridge', ipam: { type: 'jailnet-ipam', ranges: [[{ subnet: '10.0.0.0/24' }]], socket: 'relative' } }, 'b1'), 7, /field "ipam\.socket" has invalid value "relative"/);
  });

  test('a Linux netns path is refused (code 4)', async () => {
    expectError(await add(conf('crowd', [[{ subnet: '10.70.0.0/24' }]]), 'p1', { CNI_NETNS: '/var/run/netns/p1' }), 4, /CNI_NETNS "\/var\/run\/netns\/p1" is a path/);
  });
});
