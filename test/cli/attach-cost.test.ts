import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEmulatedHost, type EmulatedHost, type TraceEntry } from '../harness/emulated-host';
import { JAILNET, jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { PLUGIN_DIR } from '../helpers/plugin-process';
import { enablePfWithHooks } from '../helpers/pf-hooks';
import { ROUTE_TRUST_MS } from '../../daemon/firewall';

// What one runj hook call costs, counted, not timed (issue 13): the processes it starts (strace)
// and the FreeBSD commands an attach runs (the emulated host's trace).

let host: EmulatedHost;
let ipamd: TestDaemon;
let cli: Cli;
const STRACE = '/usr/bin/strace';

beforeAll(async () => {
  host = await createEmulatedHost();
  ipamd = await startJailnetd(host.env, { netns: host.hostNs });
  cli = jailnetCli(host, ipamd);
  await enablePfWithHooks(host);
  for (const j of ['first', 'web', 'traced', 'alone', 'typed', 'running']) await host.createJail(j);
  // bridge (ipMasq) + portmap, jailnet-ipam; the first attach creates the bridge.
  await cli.ok(['network', 'create', 'default', '--subnet', '10.88.0.0/16']);
  await cli.ok(['attach', 'first']);
}, 60_000);
afterAll(async () => {
  cli?.cleanup();
  await ipamd?.stop();
  await host?.destroy();
});

const state = (id: string, status = 'creating') => JSON.stringify({ ociVersion: '1.0.2', id, status, pid: 1, bundle: '/nonexistent', annotations: {} });
const words = (t: TraceEntry[]) => t.map((e) => `${e.tool} ${e.argv.join(' ')}`);
/** The commands of the plugins' ADD: without the hook's own pf readiness look (pfctl -s info, -s nat) before the chain. */
const ofChain = (t: TraceEntry[]) => t.slice(t.findIndex((e) => e.tool === 'jls'));
/** Without pf status reads (`pfctl -s ...`): jailnetd repeats them only when its 5 s trust in a positive answer ran out, which a loaded machine decides. */
const withoutStatusReads = (t: TraceEntry[]) => t.filter((e) => !(e.tool === 'pfctl' && e.argv[0] === '-s'));

async function hookTrace(args: string[], id: string, status = 'creating'): Promise<TraceEntry[]> {
  const mark = host.traceMark();
  await cli.ok(['hook', ...args, '--no-resolv-conf'], state(id, status));
  return host.traceSince(mark);
}

/** The commands of a never-attached jail's bridge ADD that its caller does not vouch is new: lo0 and the default route are read first. */
const unvouched = (jail: string) => [
  `jls -j ${jail} jid name vnet`,
  expect.stringMatching(/^ifconfig epair\d+ create ether 06:\S+ name jn\w+ description .* group jailnet_host up$/),
  expect.stringMatching(/^ifconfig jailnet0 addm jn\w+ up$/),
  expect.stringMatching(new RegExp(`^ifconfig epair\\d+b vnet ${jail}$`)),
  expect.stringMatching(new RegExp(`^ifconfig -j ${jail} epair\\d+b ether 02:\\S+ name eth0 up$`)),
  expect.stringMatching(new RegExp(`^ifconfig -j ${jail} eth0 inet 10\\.88\\.\\S+$`)),
  `route -j ${jail} -n get -inet default`,
  `route -j ${jail} -n -4 add default 10.88.0.1`,
  `ifconfig -j ${jail} lo0`,
  `ifconfig -j ${jail} lo0 inet 127.0.0.1/8 up`,
];

test('a bridge ADD onto an existing bridge: 8 commands for a jail being created (runj), 10 for one nobody vouches is new, 8 when its lo0 is known; +2 with published ports', async () => {
  // createRuntime (status "creating"): a new jail, whose lo0 and routes are as jail(2) made them,
  // so neither is read (JailnetNewJail); the ADD still sets both.
  const fresh = ofChain(await hookTrace(['create-runtime', '-n', 'default'], 'web'));
  expect(words(fresh).filter((w) => !w.startsWith('pfctl'))).toEqual(unvouched('web').filter((w) => w !== 'route -j web -n get -inet default' && w !== 'ifconfig -j web lo0'));
  const lo0 = await host.runOk('ifconfig', ['-j', 'web', 'lo0']);
  expect(lo0).toMatch(/^lo0: flags=[0-9a-f]+<UP,LOOPBACK,/);
  expect(lo0).toMatch(/\tinet 127\.0\.0\.1 netmask 0xff000000/);
  expect(await host.runOk('route', ['-j', 'web', '-n', 'get', '-inet', 'default'])).toMatch(/gateway: 10\.88\.0\.1/);
  // ipMasq: jailnetd adds the address to the network's NAT table.
  expect(words(withoutStatusReads(fresh)).filter((w) => w.startsWith('pfctl'))).toEqual([expect.stringMatching(/^pfctl -a jailnet\/nat-default -t masq -T add 10\.88\./)]);
  await cli.ok(['hook', 'poststop'], state('web'));

  // Control: a jail never attached but not vouched for (`jailnet attach`, a hook in another state).
  let mark = host.traceMark();
  await cli.ok(['attach', 'typed']);
  expect(words(ofChain(host.traceSince(mark))).filter((w) => !w.startsWith('pfctl'))).toEqual(unvouched('typed'));
  await cli.ok(['detach', 'typed']);
  expect(words(ofChain(await hookTrace(['create-runtime', '-n', 'default'], 'running', 'running'))).filter((w) => !w.startsWith('pfctl'))).toEqual(unvouched('running'));
  await cli.ok(['hook', 'poststop'], state('running', 'stopped'));
  // Vouched for, but this JID finished an ADD before (its lo0 is known): its default route is looked for.
  mark = host.traceMark();
  await cli.ok(['hook', 'create-runtime', '-n', 'default', '--no-resolv-conf'], state('running'));
  expect(words(host.traceSince(mark))).toContain('route -j running -n get -inet default');
  await cli.ok(['hook', 'poststop'], state('running', 'stopped'));

  // The same jail again: its lo0 is known to be up (same JID); the bridge is known throughout.
  const again = ofChain(await hookTrace(['create-runtime', '-n', 'default'], 'web'));
  expect(again.filter((e) => e.tool !== 'pfctl')).toHaveLength(8);
  expect(words(again)).not.toContain('ifconfig -j web lo0');
  expect(words(again)).not.toContain('ifconfig jailnet0');
  await cli.ok(['hook', 'poststop'], state('web'));

  // Published ports: the port forward's two (the host's default route for `rdr on IF`, the anchor).
  const ported = withoutStatusReads(ofChain(await hookTrace(['create-runtime', '-n', 'default', '-p', '8080:80'], 'web')));
  const masq = ported.findIndex((e) => e.tool === 'pfctl' && e.argv.includes('masq'));
  expect(ported.slice(0, masq)).toHaveLength(8);
  const portmapPart = ported.slice(masq + 1);
  expect(words(portmapPart)).toEqual(['route -n get -inet default', expect.stringMatching(/^pfctl -a jailnet\/pm-default-\w+ -f -$/)]);
  await cli.ok(['hook', 'poststop'], state('web'));
});

test("a network's first jail with a published port: the host's default route is read once, its NAT is one pfctl call", async () => {
  await cli.ok(['network', 'create', 'solo', '--subnet', '10.89.0.0/16']);
  const t = withoutStatusReads(ofChain(await hookTrace(['create-runtime', '-n', 'solo', '-p', '8082:80'], 'alone')));
  // One read serves the NAT rule's egress and the port forward's `rdr on IF`. A second one
  // comes only when jailnetd had trusted the first for ROUTE_TRUST_MS already (an attach that
  // a loaded machine slowed down that much); without the reuse the two come milliseconds apart.
  const reads = t.filter((e) => words([e])[0] === 'route -n get -inet default');
  expect(reads.length).toBeGreaterThanOrEqual(1);
  for (let i = 1; i < reads.length; i++) expect((reads[i] as TraceEntry).ts - ((reads[i - 1] as TraceEntry).ts + (reads[i - 1] as TraceEntry).ms)).toBeGreaterThanOrEqual(ROUTE_TRUST_MS);
  // The network's NAT: rule and table with the jail's address in one load, no `-T add`.
  expect(words(t).filter((w) => w.includes('jailnet/nat-solo'))).toEqual(['pfctl -a jailnet/nat-solo -f -']);
  const address = /^ifconfig -j alone eth0 inet (10\.89\.[\d.]+)\//.exec(words(t).find((w) => w.startsWith('ifconfig -j alone eth0 inet')) ?? '')?.[1];
  expect(address).toBeDefined();
  expect(await host.runOk('pfctl', ['-a', 'jailnet/nat-solo', '-t', 'masq', '-T', 'show'])).toBe(`   ${address}\n`);
  await cli.ok(['hook', 'poststop'], state('alone'));
  await cli.ok(['network', 'rm', 'solo']);
});

/** One `jailnet hook` call under strace: what it executed (execve lines that worked). */
async function tracedHook(env: NodeJS.ProcessEnv, args: string[], id: string): Promise<string[]> {
  const out = join(cli.dir, 'strace.out');
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(STRACE, ['-f', '-qq', '-e', 'trace=execve', '-o', out, JAILNET, 'hook', ...args, '--no-resolv-conf'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
    child.stdin.end(state(id));
  });
  expect(code).toBe(0);
  const execs = readFileSync(out, 'utf8').split('\n').filter((l) => /execve\(/.test(l) && !/ENOENT/.test(l));
  rmSync(out);
  return execs;
}

// The emulated FreeBSD tools are Node programs too (dist/emulator): not jailnet's processes.
const emulated = (l: string) => /dist\/emulator\//.test(l) || l.includes(`"${host.dir}/`);
const plugins = () => readdirSync(PLUGIN_DIR).filter((f) => !f.endsWith('.map'));
const pluginExecs = (execs: string[]) => execs.filter((l) => plugins().some((p) => l.includes(`${PLUGIN_DIR}/${p}"`)));
const nodeExecs = (execs: string[]) => execs.filter((l) => !emulated(l) && /execve\("[^"]*\/node"/.test(l));
const reserved = async () => JSON.parse((await ipamd.get('/v1/ports?network=default')).body).reservations.map((r: { containerID: string }) => r.containerID);

test('a hook call starts one Node process: jailnetd runs the chain for it', async () => {
  const execs = await tracedHook(cli.env, ['create-runtime', '-n', 'default', '-p', '8081:80'], 'traced');
  expect(pluginExecs(execs)).toEqual([]);
  // jailnet itself, and not one FreeBSD command: jailnetd ran them.
  expect(nodeExecs(execs)).toHaveLength(1);
  expect(execs.filter(emulated)).toEqual([]);
  expect(await reserved()).toEqual(['traced']);
  const poststop = await tracedHook(cli.env, ['poststop'], 'traced');
  expect(nodeExecs(poststop)).toHaveLength(1);
  expect(poststop.filter(emulated)).toEqual([]);
  expect(await reserved()).toEqual([]);
});

test('without jailnetd on its socket, the hook runs the chain in its own process: still one Node process', async () => {
  // The network file still names the running jailnetd for IPAM; only the hook's socket is empty.
  const env = { ...cli.env, JAILNETD_SOCKET: join(cli.dir, 'nobody.sock') };
  const execs = await tracedHook(env, ['create-runtime', '-n', 'default', '-p', '8081:80'], 'traced');
  expect(pluginExecs(execs)).toEqual([]);
  expect(nodeExecs(execs)).toHaveLength(1);
  expect(execs.filter(emulated).length).toBeGreaterThan(5);
  expect(await reserved()).toEqual(['traced']);
  await tracedHook(env, ['poststop'], 'traced');
  expect(await reserved()).toEqual([]);
});
