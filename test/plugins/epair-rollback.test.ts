import type { EmulatedHost, Fault } from '../harness/emulated-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { hostEndName } from '../../src/link/naming';
import { hostState, loopback, withoutLoopback } from './rollback-state';

// For each step of an epair ADD, the fault switch makes that step's command fail: the error comes
// back with a code and the host is afterwards exactly as before (interfaces and their addresses
// on the host and in the jails, host and jail routes, forwarding sysctls, NAT anchor and table,
// leases). Each step uses a new jail, whose lo0 is down: ADD brings lo0 up as its last step, so
// a failed ADD leaves it down.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;

// 'p2pkeep' has an attachment (its NAT table and rule exist); 'p2pfresh' has none (ADD makes them).
const conf = (network: 'p2pkeep' | 'p2pfresh') => {
  const n = network === 'p2pkeep' ? 71 : 72;
  return {
    cniVersion: '1.0.0',
    name: network,
    type: 'epair',
    ipMasq: true,
    mtu: 1400,
    ipam: ipamd.ipam([[{ subnet: `10.${n}.0.0/24` }], [{ subnet: `fd00:${n}::/64` }]]),
  };
};
const NETWORKS = ['p2pkeep', 'p2pfresh'];
const hostEnd = hostEndName('er', 'eth0');
const state = () => hostState(host, ipamd, NETWORKS);

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
  await host.createJail('er-keep');
  const keep = await cni('epair', 'ADD', conf('p2pkeep'), { containerId: 'er-keep', netns: 'er-keep' });
  expect(keep.stdout).toContain('"ips"');
}, 60_000);

// Words that pick out each command of ADD ($JAIL: the step's jail). A successful ADD runs, in
// this order: epair create with the host end (MAC, name, description, group, MTU, up); its IPv4 and
// IPv6 gateway; the host routes to the jail; the forwarding sysctls; vnet; the jail end (MAC,
// name, MTU, up); its IPv4 and IPv6 address; the jail's routes to the gateway and default
// routes; the NAT table (and for a network's first jail the egress lookup and the anchor); lo0.
// Forwarding is written only when it is off: those steps run with it turned off first.
const steps: { step: string; fault: Fault; network: 'p2pkeep' | 'p2pfresh'; forwardingOff?: boolean }[] = [
  { step: 'look at the jail', fault: { tool: 'jls', words: ['-j', '$JAIL'] }, network: 'p2pkeep' },
  { step: 'create the epair and set up its host end', fault: { tool: 'ifconfig', words: ['create', 'name', hostEnd] }, network: 'p2pkeep' },
  { step: "the host end's IPv4 gateway", fault: { tool: 'ifconfig', words: [hostEnd, 'inet', '10.71.0.1/32'] }, network: 'p2pkeep' },
  { step: "the host end's IPv6 gateway", fault: { tool: 'ifconfig', words: [hostEnd, 'inet6', 'fd00:71::1/128'] }, network: 'p2pkeep' },
  { step: 'the host route to the jail', fault: { tool: 'route', words: ['-4', 'add', '-host', hostEnd] }, network: 'p2pkeep' },
  { step: 'the IPv6 host route to the jail', fault: { tool: 'route', words: ['-6', 'add', '-host', hostEnd] }, network: 'p2pkeep' },
  { step: 'read the forwarding sysctls', fault: { tool: 'sysctl', words: ['net.inet.ip.forwarding', 'net.inet6.ip6.rfc6204w3'] }, network: 'p2pkeep' },
  { step: 'IPv4 forwarding', fault: { tool: 'sysctl', words: ['net.inet.ip.forwarding=1'] }, network: 'p2pkeep', forwardingOff: true },
  { step: 'IPv6 forwarding', fault: { tool: 'sysctl', words: ['net.inet6.ip6.forwarding=1'] }, network: 'p2pkeep', forwardingOff: true },
  { step: 'move into the jail', fault: { tool: 'ifconfig', words: ['vnet', '$JAIL'] }, network: 'p2pkeep' },
  { step: 'name the jail end, set its MAC and MTU', fault: { tool: 'ifconfig', words: ['name', 'eth0'] }, network: 'p2pkeep' },
  { step: "the jail end's IPv4 address", fault: { tool: 'ifconfig', words: ['eth0', 'inet'] }, network: 'p2pkeep' },
  { step: "the jail end's IPv6 address", fault: { tool: 'ifconfig', words: ['eth0', 'inet6'] }, network: 'p2pkeep' },
  { step: "the jail's route to the gateway", fault: { tool: 'route', words: ['-4', 'add', '-host', 'eth0'] }, network: 'p2pkeep' },
  { step: "the jail's IPv6 route to the gateway", fault: { tool: 'route', words: ['-6', 'add', '-host', 'eth0'] }, network: 'p2pkeep' },
  { step: 'ask the jail for its default route', fault: { tool: 'route', words: ['get', 'default', '$JAIL'] }, network: 'p2pkeep' },
  { step: 'the default route', fault: { tool: 'route', words: ['-4', 'add', 'default'] }, network: 'p2pkeep' },
  { step: 'the IPv6 default route', fault: { tool: 'route', words: ['-6', 'add', 'default'] }, network: 'p2pkeep' },
  { step: 'ipMasq: the address into the NAT table', fault: { tool: 'pfctl', words: ['-T', 'add'] }, network: 'p2pkeep' },
  { step: "ipMasq, a network's first jail: the egress interface", fault: { tool: 'route', words: ['get', 'default'], notWords: ['-j'] }, network: 'p2pfresh' },
  { step: "ipMasq, a network's first jail: the NAT rule", fault: { tool: 'pfctl', words: ['-a', 'jailnet/nat-p2pfresh', '-f', '-'] }, network: 'p2pfresh' },
  { step: 'read lo0 in the jail', fault: { tool: 'ifconfig', words: ['lo0'], notWords: ['inet'] }, network: 'p2pkeep' },
  { step: 'lo0 in the jail', fault: { tool: 'ifconfig', words: ['lo0', 'inet'] }, network: 'p2pkeep' },
];

test.each(steps.map((s, i) => ({ ...s, jail: `er${i}` })))('$step fails: error with a code, host exactly as before', async ({ fault, network, jail, forwardingOff }) => {
  await host.createJail(jail);
  try {
    const c = conf(network);
    const att = { containerId: 'er', netns: jail };
    if (forwardingOff) await host.runOk('sysctl', ['net.inet.ip.forwarding=0', 'net.inet6.ip6.forwarding=0']);
    const before = await state();
    expect(loopback(before, jail)).toMatchObject({ up: false, addresses: [] });
    host.setFaults([{ ...fault, words: fault.words.map((w) => (w === '$JAIL' ? jail : w)) }]);
    const mark = host.traceMark();
    let r;
    try {
      r = await cni('epair', 'ADD', c, att);
    } finally {
      host.clearFaults();
    }
    expect(host.traceSince(mark).some((t) => t.fault)).toBe(true);
    expect(r.code).not.toBe(0);
    expect(r.json).toMatchObject({ code: 100 });
    expect(String(r.json?.msg)).toContain('injected fault');
    // Forwarding turned on before the fault stays on (docs/plugins.md): not part of the comparison.
    const failed = await state();
    expect(forwardingOff ? { ...failed, sysctls: before.sysctls } : failed).toEqual(before);
    if (forwardingOff) {
      await host.runOk('sysctl', ['net.inet.ip.forwarding=1', 'net.inet6.ip6.forwarding=1']);
      before.sysctls = failed.sysctls = { 'net.inet.ip.forwarding': '1', 'net.inet6.ip6.forwarding': '1' };
    }

    // The same ADD without the fault works; DEL then leaves the host as before but for lo0,
    // which ADD brought up with 127.0.0.1 and DEL leaves up.
    expect((await cni('epair', 'ADD', c, att)).code).toBe(0);
    expect((await cni('epair', 'DEL', c, att)).code).toBe(0);
    // The first jail's ADD loaded the network's NAT rule and made its table; the DEL of its
    // last member took them down again.
    const after = await state();
    expect(withoutLoopback(after, jail)).toEqual(withoutLoopback(before, jail));
    expect(loopback(after, jail)).toMatchObject({ up: true, addresses: ['127.0.0.1/8', '::1/128'] });
  } finally {
    await host.removeJail(jail);
  }
});

test('forwarding turned on by a failed ADD stays on; everything else is as before', async () => {
  // ADD turns on forwarding (host-wide) and does not turn it off again (docs/plugins.md, "What a
  // failed ADD leaves").
  await host.createJail('er-fwd');
  try {
    await host.runOk('sysctl', ['net.inet.ip.forwarding=0', 'net.inet6.ip6.forwarding=0']);
    const before = await state();
    expect(before.sysctls).toEqual({ 'net.inet.ip.forwarding': '0', 'net.inet6.ip6.forwarding': '0' });
    host.setFaults([{ tool: 'ifconfig', words: ['vnet', 'er-fwd'] }]);
    let r;
    try {
      r = await cni('epair', 'ADD', conf('p2pkeep'), { containerId: 'er', netns: 'er-fwd' });
    } finally {
      host.clearFaults();
    }
    expect(r.json).toMatchObject({ code: 100 });
    const after = await state();
    expect(after.sysctls).toEqual({ 'net.inet.ip.forwarding': '1', 'net.inet6.ip6.forwarding': '1' });
    expect({ ...after, sysctls: before.sysctls }).toEqual(before);
  } finally {
    await host.runOk('sysctl', ['net.inet.ip.forwarding=1', 'net.inet6.ip6.forwarding=1']);
    await host.removeJail('er-fwd');
  }
});

test('IPAM refuses (pool exhausted): error with its code, nothing created', async () => {
  const tiny = { ...conf('p2pkeep'), name: 'p2ptiny', ipam: ipamd.ipam([[{ subnet: '10.73.0.0/30' }]]) };
  await host.createJail('er-tiny1');
  await host.createJail('er-tiny2');
  expect((await cni('epair', 'ADD', tiny, { containerId: 'er-tiny1', netns: 'er-tiny1' })).code).toBe(0);
  const before = await state();
  const mark = host.traceMark();
  const r = await cni('epair', 'ADD', tiny, { containerId: 'er-tiny2', netns: 'er-tiny2' });
  expect(r.code).not.toBe(0);
  expect(r.json?.code).toBeGreaterThanOrEqual(100);
  expect(host.traceSince(mark).filter((t) => t.tool !== 'jls')).toEqual([]);
  expect(await state()).toEqual(before);
});
