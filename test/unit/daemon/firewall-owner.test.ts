import { FirewallOwner, ROUTE_TRUST_MS } from '../../../daemon/firewall';
import { UserlandProxy } from '../../../daemon/proxy';
import type { FirewallDriver } from '../../../src/firewall/driver';
import { CommandError, setCommandRunner, type CommandRunner } from '../../../src/freebsd/exec';
import { attachmentKey } from '../../../src/ipam/lease';
import type { StateRecord } from '../../../src/ipam/records';
import { IpamState } from '../../../src/ipam/state';
import { configureLogging } from '../../../src/log/logger';

// The owner logs the teardowns it stops (expected here); a passing run prints nothing.
configureLogging({ component: 'test', level: 'error' }, {});

// jailnetd's firewall owner with a recording driver (the host boundary; the pf driver runs on the
// emulated host in test/plugins/*): who holds what, what an undo takes back, the order of a
// teardown, and NAT additions of one network coalesced into one table change.

type Call = { op: string; network?: string; addresses?: string[]; id?: string; iface?: string };

function recordingDriver(calls: Call[], gate: { wait?: Promise<void>; fail?: (c: Call) => boolean; notReady?: boolean; askEgress?: boolean } = {}): FirewallDriver {
  const step = async (c: Call) => {
    calls.push(c);
    if (gate.wait) await gate.wait;
    if (gate.fail?.(c)) throw new CommandError(['/sbin/pfctl', c.op], 1, null, '', 'pfctl: injected', false);
  };
  return {
    name: 'recording',
    readiness: async (kinds) => {
      readinessAsked.push(kinds.join(','));
      return gate.notReady ? { message: 'pf: pf is not enabled', fix: 'sysrc pf_enable=YES && service pf start' } : undefined;
    },
    addNatMembers: async (network, addresses) => {
      await step({ op: 'nat-add', network, addresses: [...addresses] });
      return false;
    },
    setupNetworkNat: async (network, addresses, egress) => {
      await step({ op: 'nat-setup', network, addresses: [...addresses], iface: gate.askEgress ? await egress() : undefined });
    },
    removeNatMembers: (network, addresses) => step({ op: 'nat-delete', network, addresses: [...addresses] }),
    teardownNetworkNat: (network) => step({ op: 'nat-teardown', network }),
    natMembers: async () => [],
    natDifference: async () => undefined,
    setPortForward: (fwd, ext) => step({ op: 'forward-set', id: `${fwd.containerID}/${fwd.ifname}`, iface: ext }),
    removePortForward: (id) => step({ op: 'forward-remove', id: `${id.containerID}/${id.ifname}` }),
    portForwardDifference: async () => undefined,
    staleForwards: async () => [],
    removeForwardHandle: (handle) => step({ op: 'forward-remove-handle', id: handle }),
    setupIngress: (network, rules) => step({ op: 'ingress-set', network, addresses: rules.subnets.map((s) => s.cidr) }),
    teardownIngress: (network) => step({ op: 'ingress-teardown', network }),
    ingressDifference: async () => undefined,
    setDnsAccess: (network) => step({ op: 'dns-set', network }),
    removeDnsAccess: (network) => step({ op: 'dns-remove', network }),
  };
}

const RANGES = [[{ subnet: '10.60.0.0/24' }]];
let state: IpamState;
let committed: StateRecord[];
let calls: Call[];
let readinessAsked: string[];
let commands: string[];
let previousRunner: CommandRunner;

function owner(driver: FirewallDriver): FirewallOwner {
  return new FirewallOwner({ state, commit: async (r) => void committed.push(...r), driver, proxy: new UserlandProxy() });
}
const id = (containerID: string) => ({ network: 'n', containerID, ifname: 'eth0' });
const lease = (containerID: string, ips?: string[]) => {
  state.ensureNetwork('n', RANGES, 0);
  return state.allocate({ network: 'n', containerID, ifname: 'eth0', ranges: RANGES, ...(ips ? { ips } : {}) }, 0).value.lease;
};

beforeEach(() => {
  state = new IpamState();
  committed = [];
  calls = [];
  readinessAsked = [];
  commands = [];
  // ifconfig for the host-end step of a teardown: no such interface.
  previousRunner = setCommandRunner(async (file, args) => {
    commands.push([file, ...args].join(' '));
    throw new CommandError([file, ...args], 1, null, '', `ifconfig: interface ${args[0]} does not exist`, false);
  });
});
afterEach(() => setCommandRunner(previousRunner));

describe('NAT', () => {
  test('adds waiting for the network join one table change; each request says what was new to it', async () => {
    let open!: () => void;
    const gate = { wait: new Promise<void>((r) => (open = r)) };
    const fw = owner(recordingDriver(calls, gate));
    const first = fw.addNat(id('a'), ['10.60.0.2']);
    await new Promise((r) => setImmediate(r));
    const rest = [fw.addNat(id('b'), ['10.60.0.3']), fw.addNat(id('c'), ['10.60.0.4']), fw.addNat(id('a'), ['10.60.0.2'])];
    await new Promise((r) => setImmediate(r));
    open();
    const [r1, ...others] = await Promise.all([first, ...rest]);
    // The network's first batch loads rule and table with its member (b and c were recorded
    // before it ran: still one call); the next is one table change.
    expect(calls).toEqual([
      { op: 'nat-setup', network: 'n', addresses: ['10.60.0.2'] },
      { op: 'nat-add', network: 'n', addresses: ['10.60.0.3', '10.60.0.4', '10.60.0.2'] },
    ]);
    expect(r1.added).toEqual([{ address: '10.60.0.2', created: true }]);
    // a's second add: the address is not new to it.
    expect(others.map((o) => o.added)).toEqual([[{ address: '10.60.0.3', created: true }], [{ address: '10.60.0.4', created: true }], [{ address: '10.60.0.2', created: false }]]);
  });

  test("a failed table change takes back only what each request created: a retried add keeps the attachment's address", async () => {
    const fw = owner(recordingDriver(calls));
    await fw.addNat(id('a'), ['10.60.0.2']);
    const failing = owner(recordingDriver(calls, { fail: (c) => c.op === 'nat-add' }));
    failing.resumeNat();
    await expect(failing.addNat(id('a'), ['10.60.0.2', '10.60.0.9'])).rejects.toMatchObject({ reason: 'host-command-failed' });
    expect(state.nat.holdings.get(attachmentKey('n', 'a', 'eth0'))?.addresses).toEqual(['10.60.0.2']);
  });

  test("the network's first member: rule and table in one call; later ones: a table change; after the last leaves, the next is first again", async () => {
    const fw = owner(recordingDriver(calls));
    await fw.addNat(id('a'), ['10.60.0.2']);
    await fw.addNat(id('b'), ['10.60.0.3']);
    // A repeated ADD of a member while another is there: a table change (the table has it already).
    await fw.addNat(id('a'), ['10.60.0.2']);
    await fw.removeNat(id('a'));
    await fw.removeNat(id('b'));
    await fw.addNat(id('c'), ['10.60.0.4']);
    expect(calls).toEqual([
      { op: 'nat-setup', network: 'n', addresses: ['10.60.0.2'] },
      { op: 'nat-add', network: 'n', addresses: ['10.60.0.3'] },
      { op: 'nat-add', network: 'n', addresses: ['10.60.0.2'] },
      { op: 'nat-delete', network: 'n', addresses: ['10.60.0.2'] },
      { op: 'nat-teardown', network: 'n' },
      { op: 'nat-setup', network: 'n', addresses: ['10.60.0.4'] },
    ]);
  });

  test('an ADD recorded but not applied yet leaves the first batch one load; after a restart, recorded members mean the NAT is set up', async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    // b's record is written slowly: it is in memory while a's batch runs, its own batch comes after.
    const fw = new FirewallOwner({ state, commit: async (r) => void (r.some((rec) => 'c' in rec && rec.c === 'b') ? await slow : undefined, committed.push(...r)), driver: recordingDriver(calls), proxy: new UserlandProxy() });
    const a = fw.addNat(id('a'), ['10.60.0.2']);
    const b = fw.addNat(id('b'), ['10.60.0.3']);
    await a;
    release();
    await b;
    expect(calls).toEqual([
      { op: 'nat-setup', network: 'n', addresses: ['10.60.0.2'] },
      { op: 'nat-add', network: 'n', addresses: ['10.60.0.3'] },
    ]);
    // A new process on the same records: a and b are in pf, so c is a table change.
    const restarted = owner(recordingDriver(calls));
    restarted.resumeNat();
    await restarted.addNat(id('c'), ['10.60.0.4']);
    expect(calls.at(-1)).toEqual({ op: 'nat-add', network: 'n', addresses: ['10.60.0.4'] });
  });

  test('a remove takes only what that attachment holds, and an address leaves the table when nobody holds it', async () => {
    const fw = owner(recordingDriver(calls));
    await fw.addNat(id('a'), ['10.60.0.2']);
    await fw.addNat(id('b'), ['10.60.0.3']);
    calls.length = 0;
    // A stale remove for an attachment that holds nothing, naming b's address: nothing happens.
    expect(await fw.removeNat(id('gone'), ['10.60.0.3'])).toEqual([]);
    expect(await fw.removeNat(id('a'), ['10.60.0.3'])).toEqual([]);
    expect(calls).toEqual([]);
    expect(await fw.removeNat(id('a'))).toEqual(['10.60.0.2']);
    expect(calls).toEqual([{ op: 'nat-delete', network: 'n', addresses: ['10.60.0.2'] }]);
    // The last member takes the network's NAT down.
    expect(await fw.removeNat(id('b'))).toEqual(['10.60.0.3']);
    expect(calls.at(-1)).toEqual({ op: 'nat-teardown', network: 'n' });
    expect(state.nat.hasMembers('n')).toBe(false);
  });
});

describe("the host's default route (issue 13)", () => {
  const ROUTE_GET = ['/sbin/route', '-n', 'get', '-inet', 'default'].join(' ');
  const routeAnswer = (iface: string) => `   route to: default\ndestination: default\n       mask: default\n    gateway: 192.0.2.1\n        fib: 0\n  interface: ${iface}\n      flags: <UP,GATEWAY,DONE,STATIC>\n`;
  const forward = { ...id('a'), mappings: [{ protocol: 'tcp' as const, hostPort: 8080, hostPortEnd: 8080, containerPort: 80 }], target: { v4: '10.60.0.2/24' }, snat: false, userlandProxy: false };
  /** route(8) answers from `answers` in turn ('missing': no default route, 'fail': an error). */
  function routeRunner(answers: string[]) {
    setCommandRunner(async (file, args) => {
      commands.push([file, ...args].join(' '));
      const next = answers.shift() ?? 'fail';
      if (next === 'fail') throw new CommandError([file, ...args], 1, null, '', 'route: injected', false);
      return { stdout: next === 'missing' ? '' : routeAnswer(next), stderr: next === 'missing' ? 'route: route has not been found\n' : '' };
    });
  }
  const routeReads = () => commands.filter((c) => c === ROUTE_GET).length;

  let now: number;
  let clock: jest.SpiedFunction<typeof Date.now>;
  beforeEach(() => {
    now = 1_000_000;
    clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => clock.mockRestore());

  test("an attach's NAT egress and port forwards read it once; another attachment reads for itself", async () => {
    routeRunner(['em0', 'em1']);
    const fw = owner(recordingDriver(calls, { askEgress: true }));
    lease('a');
    await fw.addNat(id('a'), ['10.60.0.2']);
    const published = await fw.publish(forward, 'a');
    expect(calls.map((c) => [c.op, c.iface])).toEqual([['nat-setup', 'em0'], ['forward-set', 'em0']]);
    expect(published.forward.externalInterface).toBeUndefined();
    expect(routeReads()).toBe(1);
    // What a's attach read is a's: the first member of another network asks route(8) itself.
    await fw.addNat({ network: 'm', containerID: 'b', ifname: 'eth0' }, ['10.61.0.2']);
    expect(routeReads()).toBe(2);
    expect(calls.at(-1)).toMatchObject({ op: 'nat-setup', network: 'm', iface: 'em1' });
  });

  test('an answer serves the attachment for ROUTE_TRUST_MS, until its NAT or forwards are removed; no route or a failed read is asked again', async () => {
    routeRunner(['fail', 'missing', 'em0', 'em1', 'em2', 'em3']);
    const fw = owner(recordingDriver(calls, { askEgress: true }));
    lease('a');
    await expect(fw.publish(forward, 'a')).rejects.toMatchObject({ reason: 'host-command-failed', message: expect.stringContaining('finding the external interface') });
    await expect(fw.publish(forward, 'a')).rejects.toMatchObject({ reason: 'invalid-config', message: expect.stringContaining('no default route') });
    await fw.addNat(id('a'), ['10.60.0.2']);
    await fw.publish(forward, 'a');
    now += ROUTE_TRUST_MS - 1;
    await fw.publish(forward, 'a');
    now += 1;
    await fw.publish(forward, 'a');
    expect(routeReads()).toBe(4);
    await fw.unpublish(id('a'));
    await fw.publish(forward, 'a');
    await fw.removeNat(id('a'));
    await fw.publish(forward, 'a');
    expect(routeReads()).toBe(6);
    expect(calls.filter((c) => c.op === 'nat-setup' || c.op === 'forward-set').map((c) => `${c.op} ${c.iface}`)).toEqual([
      'nat-setup em0',
      'forward-set em0',
      'forward-set em0',
      'forward-set em1',
      'forward-set em2',
      'forward-set em3',
    ]);
  });
});

describe('readiness (issue 10.15)', () => {
  const forward = { ...id('a'), mappings: [{ protocol: 'tcp' as const, hostPort: 8080, hostPortEnd: 8080, containerPort: 80 }], target: { v4: '10.60.0.2/24' }, externalInterface: 'em0', snat: false, userlandProxy: false };

  test('a port that cannot work is not published: refused before anything is reserved or loaded', async () => {
    const fw = owner(recordingDriver(calls, { notReady: true }));
    await expect(fw.publish(forward, 'a')).rejects.toMatchObject({ reason: 'not-ready', message: expect.stringContaining('pf is not enabled') });
    expect(readinessAsked).toEqual(['nat,rdr']);
    expect(calls).toEqual([]);
    expect(committed).toEqual([]);
    expect(state.ports.reservations.size).toBe(0);
  });

  test('NAT that pf will not apply is made, with a warning for the plugin to log', async () => {
    const fw = owner(recordingDriver(calls, { notReady: true }));
    const r = await fw.addNat(id('a'), ['10.60.0.2']);
    expect(r.added).toEqual([{ address: '10.60.0.2', created: true }]);
    expect(r.warnings).toEqual([expect.stringContaining('pf is not enabled: 10.60.0.2 will not be translated')]);
    // Ready: no warning, and the answer is trusted for a while (one readiness call for two adds).
    const ready = owner(recordingDriver(calls));
    readinessAsked.length = 0;
    expect((await ready.addNat(id('b'), ['10.60.0.3'])).warnings).toBeUndefined();
    expect((await ready.addNat(id('c'), ['10.60.0.4'])).warnings).toBeUndefined();
    expect(readinessAsked).toEqual(['nat']);
  });

  test('ingress rules pf would not evaluate are refused: nothing recorded, nothing loaded', async () => {
    const rule = { ...id('a'), policy: 'same-bridge' as const, bridge: 'bridge0', subnets: [{ cidr: '10.60.0.0/24' }] };
    const fw = owner(recordingDriver(calls, { notReady: true }));
    await expect(fw.addIngress(rule)).rejects.toMatchObject({ reason: 'not-ready', message: expect.stringContaining('same-bridge ingress policy of network n') });
    expect(readinessAsked).toEqual(['filter']);
    expect([calls, committed, state.ingress.size]).toEqual([[], [], 0]);
    // Positive control: ready, the same request loads the network's rules.
    expect(await owner(recordingDriver(calls)).addIngress(rule)).toEqual({ created: true });
    expect(calls).toEqual([{ op: 'ingress-set', network: 'n', addresses: ['10.60.0.0/24'] }]);
  });
});

describe('teardown', () => {
  const forward = (containerID: string) => ({ ...id(containerID), mappings: [{ protocol: 'tcp' as const, hostPort: 8080, hostPortEnd: 8080, containerPort: 80 }], target: { v4: '10.60.0.2/24' }, externalInterface: 'em0', snat: false, userlandProxy: false });

  test('rules and table entries, then the host end, then lease and ports', async () => {
    const fw = owner(recordingDriver(calls));
    lease('a');
    await fw.addNat(id('a'), ['10.60.0.2']);
    await fw.addNat(id('keep'), ['10.60.0.7']);
    await fw.publish(forward('a'), 'a');
    calls.length = 0;
    const r = await fw.teardown([attachmentKey('n', 'a', 'eth0')], { interfaces: true });
    expect(r.failures).toEqual([]);
    expect(calls.map((c) => c.op)).toEqual(['forward-remove', 'nat-delete']);
    expect(commands).toEqual([expect.stringMatching(/ifconfig jn[0-9a-f]{13}$/)]);
    expect(r.leases.map((l) => l.containerID)).toEqual(['a']);
    expect(r.ports.map((p) => p.containerID)).toEqual(['a']);
    expect(state.ports.reservations.size).toBe(0);
    // The order in the journal too: the forward and NAT records go before the lease.
    const kinds = committed.slice(-4).map((rec) => (Array.isArray(rec) ? rec[0] : rec.t));
    expect(kinds).toEqual(['unfwd', 'unnat', 'unlease', 'unports']);
  });

  test('a failed step stops the later ones for that attachment: its lease and ports stay for the next try', async () => {
    const fw = owner(recordingDriver(calls, { fail: (c) => c.op === 'forward-remove' }));
    lease('a');
    await fw.publish(forward('a'), 'a');
    const r = await fw.teardown([attachmentKey('n', 'a', 'eth0')], { interfaces: true });
    expect(r.failures.map((f) => f.key)).toEqual(['n/a/eth0']);
    expect(commands).toEqual([]);
    expect(state.lease('n', 'a', 'eth0')).toBeDefined();
    expect(state.ports.reservations.size).toBe(1);
    expect(state.forwards.size).toBe(1);
  });
});
