import { createEmulatedHost, type EmulatedHost, type Fault } from '../harness/emulated-host';
import { cniRunner } from '../helpers/cni-on-host';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { hostEndName } from '../../src/link/naming';

// For each step of a bridge ADD, the fault switch makes that step's command fail: the error comes
// back with a code and the host is afterwards exactly as before (interfaces, jails, routes, leases).

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: ReturnType<typeof cniRunner>;

beforeAll(async () => {
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env);
  cni = cniRunner(host);
  await host.createJail('rb');
  // A successful ADD brings lo0 up and DEL leaves it up (other attachments use it); start from there.
  await host.runOk('ifconfig', ['-j', 'rb', 'lo0', 'inet', '127.0.0.1/8', 'up']);
}, 60_000);
afterAll(async () => {
  await ipamd?.stop();
  await host?.destroy();
});

// Two networks: one whose bridge exists (steps after the bridge), one whose bridge ADD creates.
const conf = (bridge: 'br-old' | 'br-new') => {
  const n = bridge === 'br-old' ? 81 : 83;
  return {
    cniVersion: '1.0.0',
    name: `rollback${n}`,
    type: 'bridge',
    bridge,
    isDefaultGateway: true,
    ipam: ipamd.ipam([[{ subnet: `10.${n}.0.0/24` }], [{ subnet: `fd00:${n}::/64` }]]),
  };
};
const att = { containerId: 'rb', netns: 'rb' };
const hostEnd = hostEndName('rb', 'eth0');

async function state() {
  const s = await host.snapshot();
  return { ...s, leases: await ipamd.leases() };
}

// Words that pick out each command of ADD (see the trace of a successful ADD in bridge.test.ts).
const steps: { step: string; fault: Fault; newBridge: boolean }[] = [
  { step: 'create the bridge', fault: { tool: 'ifconfig', words: ['bridge', 'create'] }, newBridge: true },
  { step: 'name and address the bridge', fault: { tool: 'ifconfig', words: ['name', 'br-new', 'group'] }, newBridge: true },
  { step: "the bridge's IPv6 gateway", fault: { tool: 'ifconfig', words: ['br-new', 'inet6'] }, newBridge: true },
  { step: 'turn on forwarding', fault: { tool: 'sysctl', words: ['net.inet.ip.forwarding=1'] }, newBridge: true },
  { step: 'create the epair', fault: { tool: 'ifconfig', words: ['epair', 'create'] }, newBridge: false },
  { step: 'name the host end', fault: { tool: 'ifconfig', words: ['name', hostEnd] }, newBridge: false },
  { step: 'join the bridge', fault: { tool: 'ifconfig', words: ['addm', hostEnd] }, newBridge: false },
  { step: 'move into the jail', fault: { tool: 'ifconfig', words: ['vnet', 'rb'] }, newBridge: false },
  { step: 'name the jail end and set its MAC', fault: { tool: 'ifconfig', words: ['name', 'eth0'] }, newBridge: false },
  { step: "the jail end's IPv4 address", fault: { tool: 'ifconfig', words: ['eth0', 'inet'] }, newBridge: false },
  { step: "the jail end's IPv6 address", fault: { tool: 'ifconfig', words: ['eth0', 'inet6'] }, newBridge: false },
  { step: 'lo0 in the jail', fault: { tool: 'ifconfig', words: ['lo0'] }, newBridge: false },
  { step: 'the default route', fault: { tool: 'route', words: ['add', 'default'] }, newBridge: false },
  { step: 'the IPv6 default route', fault: { tool: 'route', words: ['-6', 'add', 'default'] }, newBridge: false },
];

beforeAll(async () => {
  // An existing bridge for the steps after bridge creation.
  await host.createJail('rb-keep');
  const keep = await cni('bridge', 'ADD', conf('br-old'), { containerId: 'rb-keep', netns: 'rb-keep' });
  expect(keep.stdout).toContain('"ips"');
});

test.each(steps)('$step fails: error with a code, host exactly as before', async ({ fault, newBridge }) => {
  const c = conf(newBridge ? 'br-new' : 'br-old');
  const before = await state();
  host.setFaults([fault]);
  const mark = host.traceMark();
  let r;
  try {
    r = await cni('bridge', 'ADD', c, att);
  } finally {
    host.clearFaults();
  }
  expect(host.traceSince(mark).some((t) => t.fault)).toBe(true);
  expect(r.code).not.toBe(0);
  expect(r.json).toMatchObject({ code: 100 });
  expect(String(r.json?.msg)).toContain('injected fault');
  expect(await state()).toEqual(before);
  // And the same ADD without the fault works.
  expect((await cni('bridge', 'ADD', c, att)).code).toBe(0);
  expect((await cni('bridge', 'DEL', c, att)).code).toBe(0);
  if (newBridge) await host.runOk('ifconfig', ['br-new', 'destroy']);
  expect(await state()).toEqual(before);
});

test('IPAM refuses (pool exhausted): error with its code, nothing created', async () => {
  const tiny = { ...conf('br-old'), name: 'tiny', ipam: ipamd.ipam([[{ subnet: '10.82.0.0/30' }]]) };
  await host.createJail('tiny1');
  expect((await cni('bridge', 'ADD', tiny, { containerId: 'tiny1', netns: 'tiny1' })).code).toBe(0);
  const before = await state();
  const mark = host.traceMark();
  const r = await cni('bridge', 'ADD', tiny, att);
  expect(r.code).not.toBe(0);
  expect(r.json?.code).toBeGreaterThanOrEqual(100);
  expect(host.traceSince(mark)).toEqual([]);
  expect(await state()).toEqual(before);
});
