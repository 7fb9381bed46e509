import type { EmulatedHost } from '../harness/emulated-host';
import { firstIpv4 } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { hostEndName } from '../../src/link/naming';
import { portmapAnchor } from '../../src/pf/anchors';
import { enablePfWithHooks } from '../helpers/pf-hooks';

// What an attachment holds, and who takes it back (issue 10, items 1 and 2), on the emulated
// host with jailnetd inside it and its jail check every 0.2 s with a 1 s grace period:
// - a jail that vanishes without DEL is cleaned by jailnetd in one order: its pf anchor and NAT
//   table entry, then its host end, then its lease and host ports;
// - a stale DEL for an address another attachment now holds leaves that attachment's NAT;
// - a retried ADD that fails takes back only what it created, never the running attachment's.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;
const NET = 'life';
const NAT_ANCHOR = `jailnet/nat-${NET}`;
const PORT = 8181;

type Mapping = { hostPort: number; containerPort: number; protocol: string };
const bridgeConf = () => ({ cniVersion: '1.0.0', name: NET, type: 'bridge', bridge: 'br-life', isDefaultGateway: true, ipMasq: true, ipam: ipamd.ipam([[{ subnet: '10.71.0.0/24' }]]) });
const pmConf = (portMappings?: Mapping[], prevResult?: unknown) => ({
  cniVersion: '1.0.0',
  name: NET,
  type: 'portmap',
  socket: ipamd.socket,
  autostart: false,
  ...(portMappings ? { runtimeConfig: { portMappings } } : {}),
  ...(prevResult ? { prevResult } : {}),
});
const att = (jail: string, args?: string) => ({ containerId: jail, netns: jail, ...(args ? { args } : {}) });

/** bridge (ipMasq) then portmap, as a runtime runs the chain; the bridge's result. */
async function attach(jail: string, ports: Mapping[], args?: string): Promise<Record<string, unknown>> {
  const b = await cni('bridge', 'ADD', bridgeConf(), att(jail, args));
  if (b.code !== 0) throw new Error(`bridge ADD ${jail}: ${b.stdout}`);
  if (ports.length > 0) {
    const p = await cni('portmap', 'ADD', pmConf(ports, b.json), att(jail, args));
    if (p.code !== 0) throw new Error(`portmap ADD ${jail}: ${p.stdout}`);
  }
  return b.json as Record<string, unknown>;
}

const natTable = async () => (await host.run('pfctl', ['-a', NAT_ANCHOR, '-t', 'masq', '-T', 'show'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
const anchors = async () => (await host.runOk('pfctl', ['-s', 'Anchors'])).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('jailnet/pm-'));
const hostEndExists = async (jail: string) => (await host.run('ifconfig', [hostEndName(jail, 'eth0')])).code === 0;
const leaseOf = async (jail: string) => (await ipamd.leases(NET)).find((l) => l.containerID === jail);
const portsOf = async (jail: string) => (JSON.parse((await ipamd.get(`/v1/ports?network=${NET}&container=${jail}`)).body) as { reservations: unknown[] }).reservations;
const out = (jail: string, timeoutMs = 3000) => host.request(jail, { proto: 'tcp', address: host.worldAddress, port: 8080, timeoutMs });
const published = (timeoutMs = 3000) => host.request('world', { proto: 'tcp', address: host.em0Address, port: PORT, timeoutMs });

async function until(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

withPluginHost(
  async (s) => {
    ({ host, ipamd, cni } = s);
    await enablePfWithHooks(host);
    await host.startWorldServer({ proto: 'tcp', port: 8080 });
    // A jail that stays, so that the NAT table keeps a member when the other leaves.
    await host.createJail('keeper');
    await attach('keeper', []);
  },
  120_000,
  ['--reclaim-interval', '0.2', '--reclaim-grace', '1'],
);

describe('a jail removed without DEL', () => {
  let oldAddress: string;

  test('jailnetd removes its anchor and NAT entry, then its host end, then releases its lease and ports; a failed step stops the rest', async () => {
    await host.createJail('old');
    const prev = await attach('old', [{ hostPort: PORT, containerPort: 80, protocol: 'tcp' }]);
    oldAddress = firstIpv4(prev);
    await host.startJailServer('old', { proto: 'tcp', port: 80 });
    expect(await published()).toMatchObject({ ok: true, reply: { local: oldAddress } });
    expect(await natTable()).toContain(oldAddress);
    const anchor = portmapAnchor(NET, 'old', 'eth0');
    const hostEnd = hostEndName('old', 'eth0');

    // The host end cannot be destroyed for now: the rules go, the lease and ports must stay.
    host.setFaults([{ tool: 'ifconfig', words: [hostEnd, 'destroy'], stderr: 'ifconfig: injected fault' }]);
    const mark = host.traceMark();
    await host.removeJail('old');
    await until('a try to destroy the host end', async () => host.traceSince(mark).some((e) => e.fault === true));
    expect(await anchors()).not.toContain(anchor);
    expect(await natTable()).not.toContain(oldAddress);
    expect(await hostEndExists('old')).toBe(true);
    expect(await leaseOf('old')).toBeDefined();
    expect(await portsOf('old')).toHaveLength(1);
    // The next checks try again and still keep them.
    const tries = host.traceSince(mark).filter((e) => e.fault === true).length;
    await until('another try', async () => host.traceSince(mark).filter((e) => e.fault === true).length > tries);
    expect(await leaseOf('old')).toBeDefined();
    expect(await portsOf('old')).toHaveLength(1);

    host.clearFaults();
    await until('the lease to be released', async () => (await leaseOf('old')) === undefined);
    expect(await portsOf('old')).toEqual([]);
    expect(await hostEndExists('old')).toBe(false);
    // The trace: pf first (the anchor, the table entry), then the host end.
    const steps = host.traceSince(mark).filter((e) => !e.fault).map((e) => `${e.tool} ${e.argv.join(' ')}`);
    const at = (c: string) => steps.indexOf(c);
    expect(at(`pfctl -a ${anchor} -F all`)).toBeGreaterThanOrEqual(0);
    expect(at(`pfctl -a ${NAT_ANCHOR} -t masq -T delete ${oldAddress}`)).toBeGreaterThan(at(`pfctl -a ${anchor} -F all`));
    expect(at(`ifconfig ${hostEnd} destroy`)).toBeGreaterThan(at(`pfctl -a ${NAT_ANCHOR} -t masq -T delete ${oldAddress}`));
    expect(ipamd.log()).toMatch(/destroyed jn[0-9a-f]+, the host interface of a vanished jail[\s\S]*released the lease of vanished jail old/);
    // The jail that stayed keeps everything.
    expect(await natTable()).toContain((await leaseOf('keeper'))?.ips[0]?.address.split('/')[0]);
    expect(await out('keeper')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
  });

  test('a new jail then gets the address and the port, and alone receives what is sent to them', async () => {
    await host.createJail('new');
    const prev = await attach('new', [{ hostPort: PORT, containerPort: 80, protocol: 'tcp' }], `IP=${oldAddress}`);
    expect(firstIpv4(prev)).toBe(oldAddress);
    await host.startJailServer('new', { proto: 'tcp', port: 80 });
    // The jail speaks first. FreeBSD announces an address when it is configured (a gratuitous
    // ARP, sys/netinet/if_ether.c), so the host forgets the old jail's MAC for it at once; the
    // emulated ifconfig does not, and Linux keeps the old neighbour entry until the jail's own
    // ARP request for its gateway replaces it.
    expect(await out('new')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
    // One anchor publishes the port: the new jail's. What the world sends there reaches it.
    expect((await anchors()).filter((a) => a !== portmapAnchor(NET, 'new', 'eth0'))).toEqual([]);
    expect(await published()).toMatchObject({ ok: true, reply: { local: oldAddress, localPort: 80 } });
  });

  test("a stale DEL for the old jail leaves the new holder's NAT entry and port", async () => {
    // What a runtime's late poststop sends: the old attachment's cached result names the address.
    const stale = { cniVersion: '1.0.0', interfaces: [{ name: 'br-life' }, { name: hostEndName('old', 'eth0') }, { name: 'eth0', sandbox: 'old' }], ips: [{ address: `${oldAddress}/24`, gateway: '10.71.0.1', interface: 2 }] };
    expect((await cni('portmap', 'DEL', pmConf(undefined, stale), { containerId: 'old', netns: '' })).code).toBe(0);
    expect((await cni('bridge', 'DEL', { ...bridgeConf(), prevResult: stale }, { containerId: 'old', netns: '' })).code).toBe(0);
    expect(await natTable()).toContain(oldAddress);
    expect(await out('new')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
    expect(await published()).toMatchObject({ ok: true, reply: { local: oldAddress } });
    expect(await leaseOf('new')).toBeDefined();
    expect((await cni('portmap', 'DEL', pmConf(), att('new'))).code).toBe(0);
    expect((await cni('bridge', 'DEL', bridgeConf(), att('new'))).code).toBe(0);
    await host.removeJail('new');
  });
});

describe('a retried ADD that fails', () => {
  let prev: Record<string, unknown>;
  const RUN_PORT = 8282;
  const snapshot = async () => ({ lease: (await leaseOf('run'))?.ips, ports: await portsOf('run'), nat: await natTable(), anchors: await anchors(), hostEnd: await hostEndExists('run') });

  beforeAll(async () => {
    await host.createJail('run');
    prev = await attach('run', [{ hostPort: RUN_PORT, containerPort: 80, protocol: 'tcp' }]);
    await host.startJailServer('run', { proto: 'tcp', port: 80 });
  });

  test('bridge ADD failing before its interfaces exist (epair create) leaves the running attachment its lease, ports and NAT', async () => {
    const before = await snapshot();
    expect(before.lease).toBeDefined();
    // IPAM gives the retried ADD the running attachment's lease (not new): the undo must keep it.
    host.setFaults([{ tool: 'ifconfig', words: ['create'], notWords: ['bridge'], stderr: 'ifconfig: injected fault' }]);
    let r;
    try {
      r = await cni('bridge', 'ADD', bridgeConf(), att('run'));
    } finally {
      host.clearFaults();
    }
    expect(r.json).toMatchObject({ code: 100 });
    expect(await snapshot()).toEqual(before);
    expect(await out('run')).toMatchObject({ ok: true, reply: { peer: host.em0Address } });
    expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: RUN_PORT })).toMatchObject({ ok: true, reply: { local: firstIpv4(prev) } });
  });

  test('a retried bridge ADD that finds the host end (102) and a retried portmap ADD failing at its rules leave it all', async () => {
    const before = await snapshot();
    const again = await cni('bridge', 'ADD', bridgeConf(), att('run'));
    expect(again.json).toMatchObject({ code: 102 });
    host.setFaults([{ tool: 'pfctl', words: ['-f', '-'], stderr: 'pfctl: injected fault' }]);
    let r;
    try {
      r = await cni('portmap', 'ADD', pmConf([{ hostPort: RUN_PORT, containerPort: 80, protocol: 'tcp' }], prev), att('run'));
    } finally {
      host.clearFaults();
    }
    expect(r.json).toMatchObject({ code: 100 });
    expect(await snapshot()).toEqual(before);
    expect(await host.request('world', { proto: 'tcp', address: host.em0Address, port: RUN_PORT })).toMatchObject({ ok: true });
    // The host itself, through the proxy: its socket stayed too.
    expect(await host.request('host', { proto: 'tcp', address: host.em0Address, port: RUN_PORT })).toMatchObject({ ok: true, reply: { localPort: 80 } });
  });
});
