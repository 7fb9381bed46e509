/**
 * Cluster networks (docs/cluster.md) on three emulated hosts of one underlay with a real
 * three-member etcd: jails on each host reach each other by address and by name over the vxlan
 * overlay, published ports per host, attaches with one etcd member dead, 1,000 concurrent IPAM
 * attaches never giving one address twice, a dead host's tunnel dropped and its block
 * reclaimed and reused, and etcd down: local networks work, cluster attaches fail cleanly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterNetworkStatus } from '../../daemon/cluster/network';
import type { DnsStatusResponse, LeaseView } from '../../src/ipam/api-types';
import { blockOfAddress } from '../../src/cluster/blocks';
import { canRunEmulator, createEmulatedCluster, type EmulatedCluster, type EmulatedHost } from '../harness/emulated-host';
import { dig } from '../dns/helpers';
import { canRunEtcd, startEtcd, type TestEtcd } from '../helpers/etcd';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { enablePfWithHooks } from '../helpers/pf-hooks';

const d = canRunEmulator && canRunEtcd ? describe : describe.skip;
const VNI = 4242;
const SUBNET = '10.70.0.0/26';

interface Node {
  host: EmulatedHost;
  daemon: TestDaemon;
  cli: Cli;
  name: string;
}

d('cluster networks on three emulated hosts', () => {
  let cluster: EmulatedCluster;
  let etcd: TestEtcd;
  const nodes: Node[] = [];
  const addr: Record<string, string> = {};
  const gw: Record<string, string> = {};

  async function clusterStatus(n: Node, network: string): Promise<ClusterNetworkStatus | undefined> {
    const r = await n.daemon.get('/v1/cluster');
    return (JSON.parse(r.body) as { networks: ClusterNetworkStatus[] }).networks.find((x) => x.network === network);
  }
  async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${nodes.map((n) => `${n.name}: ${n.daemon.log()}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  async function attach(n: Node, jail: string, args: string[] = []): Promise<string> {
    const out = JSON.parse(await n.cli.ok(['attach', jail, '-n', 'app', ...args, '--json'])) as { result: { ips: { address: string; gateway?: string }[] } }[];
    const ip = out[0]?.result.ips[0];
    addr[jail] = ip?.address.split('/')[0] as string;
    gw[jail] = ip?.gateway as string;
    return addr[jail] as string;
  }
  /** Makes a cluster network file on a host, with short lease and grace for the test. */
  async function createClusterNetwork(n: Node, name: string, subnet: string, vni: number, blockPrefix: number): Promise<void> {
    await n.cli.ok(['network', 'create', name, '--subnet', subnet, '--cluster', '--etcd-endpoints', etcd.endpoints.join(','), '--vni', String(vni), '--underlay', 'em0', '--block-prefix', String(blockPrefix)]);
    const file = join(n.cli.env.JAILNET_CONF_DIR as string, `${name}.conflist`);
    const list = JSON.parse(readFileSync(file, 'utf8')) as { plugins: { ipam?: { cluster?: Record<string, unknown> } }[] };
    Object.assign(list.plugins[0]?.ipam?.cluster ?? {}, { leaseTtl: 3, reclaimGrace: 2 });
    writeFileSync(file, JSON.stringify(list));
  }

  beforeAll(async () => {
    cluster = await createEmulatedCluster({ hosts: 3 });
    etcd = await startEtcd(cluster);
    for (const [i, host] of cluster.hosts.entries()) {
      const name = `h${i + 1}`;
      const daemon = await startJailnetd(host.env, { netns: host.hostNs, args: ['--host-name', name] });
      const cli = jailnetCli(host, daemon);
      await enablePfWithHooks(host);
      nodes.push({ host, daemon, cli, name });
      await createClusterNetwork(nodes[i] as Node, 'app', SUBNET, VNI, 28);
    }
    for (const [i, n] of nodes.entries()) {
      await n.host.createJail(`j${i + 1}`);
      await attach(n, `j${i + 1}`, ['-p', `808${i + 1}:8080/tcp`]);
    }
    // Each host knows the names of every jail (through etcd, asynchronously), and has seen the
    // two others and made a tunnel to each.
    for (const n of nodes) {
      await until(`names on ${n.name}`, async () => {
        const net = (JSON.parse((await n.daemon.get('/v1/dns')).body) as DnsStatusResponse).networks.find((x) => x.network === 'app');
        return ['j1', 'j2', 'j3'].every((j) => net?.records.some((r) => r.name === j && r.addresses.includes(addr[j] as string)));
      });
    }
    for (const n of nodes) await until(`tunnels on ${n.name}`, async () => ((await n.host.runOk('ifconfig', ['-l'])).split(/\s+/).filter((x) => x.startsWith(`vx${VNI}p`)).length === 2 ? true : undefined));
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) {
      n.cli.cleanup();
      await n.daemon.stop();
    }
    await etcd?.stop();
    await cluster?.destroy();
  });

  test('each host claimed its own block and put its own gateway on its bridge; jails reach each other across hosts by address', async () => {
    const st = await Promise.all(nodes.map((n) => clusterStatus(n, 'app')));
    const blocks = st.map((s) => s?.blocks[0]);
    expect(new Set(blocks).size).toBe(3);
    for (const [i, s] of st.entries()) {
      expect(blockOfAddress(addr[`j${i + 1}`] as string, 28)).toBe(s?.blocks[0]);
      expect(gw[`j${i + 1}`]).toBe(s?.gateway);
    }
    // Every jail pings every other first (each ARP request is the first between them): the
    // broadcast reaches each peer through its own tunnel.
    for (const [i, n] of nodes.entries()) {
      for (const other of ['j1', 'j2', 'j3'].filter((o) => o !== `j${i + 1}`)) {
        const ping = await n.host.jexec(`j${i + 1}`, ['/usr/bin/ping', '-c1', '-W3', addr[other] as string]);
        expect({ from: `j${i + 1}`, to: other, code: ping.code }).toEqual({ from: `j${i + 1}`, to: other, code: 0 });
      }
    }
    // The overlay's MTU on the tunnels and the jails' interfaces; CHECK against this host's blocks.
    expect(await nodes[0]!.host.runOk('ifconfig', [`vx${VNI}p1`])).toMatch(/ mtu 1450\n\tdescription: jailnet app to h2\n[\s\S]*\tvxlan vni 4242 local 198\.51\.100\.2:4790 remote 198\.51\.100\.3:4789\n/);
    expect(await nodes[0]!.host.runOk('ifconfig', ['-j', 'j1', 'eth0'])).toMatch(/ mtu 1450\n/);
    for (const [i, n] of nodes.entries()) await n.cli.ok(['check', `j${i + 1}`]);
    const srv = await nodes[1]!.host.startJailServer('j2', { proto: 'tcp', port: 8080 });
    const r = await nodes[0]!.host.request('j1', { proto: 'tcp', address: addr.j2 as string, port: 8080 });
    expect(r).toMatchObject({ ok: true, reply: { peer: addr.j1, local: addr.j2 } });
    expect((await nodes[2]!.host.jexec('j3', ['/usr/bin/ping', '-c1', '-W3', addr.j1 as string])).code).toBe(0);
    // Each jail's gateway is its own host's bridge.
    expect((await nodes[2]!.host.jexec('j3', ['/usr/bin/ping', '-c1', '-W3', gw.j3 as string])).code).toBe(0);
    await srv.stop();
  });

  test('names of every host resolve on each host\'s DNS server', async () => {
    for (const [i, n] of nodes.entries()) {
      for (const other of ['j1', 'j2', 'j3']) {
        const a = await dig(n.host, `j${i + 1}`, gw[`j${i + 1}`] as string, [`${other}.app`]);
        expect({ on: n.name, other, answers: a.answers }).toEqual({ on: n.name, other, answers: [`A ${addr[other]}`] });
      }
    }
    // Connect by name: resolved through the jail's own host, then TCP across.
    const srv = await nodes[2]!.host.startJailServer('j3', { proto: 'tcp', port: 8080 });
    const found = (await dig(nodes[0]!.host, 'j1', gw.j1 as string, ['j3'])).answers[0]?.replace(/^A /, '') as string;
    expect(await nodes[0]!.host.request('j1', { proto: 'tcp', address: found, port: 8080 })).toMatchObject({ ok: true, reply: { local: addr.j3 } });
    await srv.stop();
  });

  test('network create --cluster refuses bad input and writes nothing', async () => {
    const n = nodes[0] as Node;
    const cases: [string[], RegExp][] = [
      [['--cluster'], /--cluster needs --etcd-endpoints/],
      [['--etcd-endpoints', etcd.endpoints[0] as string], /--etcd-endpoints is for cluster networks/],
      [['--cluster', '--etcd-endpoints', '198.51.100.101:2379'], /field "ipam\.cluster\.endpoints\[0\]": "198\.51\.100\.101:2379" is not a URL/],
      [['--cluster', '--etcd-endpoints', etcd.endpoints[0] as string, '--vni', '16777216'], /ipam\.cluster\.vni/],
      [['--cluster', '--etcd-endpoints', etcd.endpoints[0] as string, '--etcd-ca', '/nonexistent/ca.pem'], /field "ipam\.cluster\.tls\.ca": cannot read \/nonexistent\/ca\.pem/],
      [['--cluster', '--etcd-endpoints', etcd.endpoints[0] as string, '--gateway', '10.73.0.9'], /a cluster network has one IPv4 subnet without rangeStart, rangeEnd or gateway/],
    ];
    for (const [args, message] of cases) {
      const r = await n.cli.run(['network', 'create', 'bad', '--subnet', '10.73.0.0/24', ...args]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 1, stderr: expect.stringMatching(message) });
    }
    expect((await n.cli.run(['network', 'inspect', 'bad'])).code).not.toBe(0);
  });

  test('a published port on each host reaches that host\'s jail from the world', async () => {
    for (const [i, n] of nodes.entries()) {
      const srv = await n.host.startJailServer(`j${i + 1}`, { proto: 'tcp', port: 8080 });
      const r = await n.host.request('world', { proto: 'tcp', address: n.host.em0Address, port: 8081 + i });
      expect(r).toMatchObject({ ok: true, reply: { local: addr[`j${i + 1}`] } });
      await srv.stop();
    }
    // etcd says which host publishes what: each host its own jail's port, under ports/HOST/.
    for (const [i, n] of nodes.entries()) {
      const records = async () => {
        const out = (await etcd.etcdctl(['get', '--prefix', `/jailnet/app/ports/${n.name}/`])).stdout.trim().split('\n').filter(Boolean);
        const values = out.filter((_, k) => k % 2 === 1).map((v) => JSON.parse(v) as { jail?: string; mappings: { hostPort: number; containerPort: number }[] });
        return values.length ? values : undefined;
      };
      const got = await until(`ports of ${n.name} in etcd`, records);
      expect(got.map((v) => ({ jail: v.jail, ports: v.mappings.map((m) => `${m.hostPort}:${m.containerPort}`) }))).toEqual([{ jail: `j${i + 1}`, ports: [`${8081 + i}:8080`] }]);
    }
    // A detach takes its record with it.
    const h1 = nodes[0] as Node;
    const count = async () => (await etcd.etcdctl(['get', '--prefix', '--keys-only', '/jailnet/app/ports/h1/'])).stdout.trim().split('\n').filter(Boolean).length;
    await h1.host.createJail('pshort');
    await attach(h1, 'pshort', ['-p', '8091:80/tcp']);
    await until('a second record on h1', async () => (await count()) === 2);
    await h1.cli.ok(['detach', 'pshort']);
    await h1.host.removeJail('pshort');
    await until('the record gone with the detach', async () => (await count()) === 1);
  });

  test('a jail removed without detach: CNI GC takes its name and its ports out of etcd', async () => {
    const h2 = nodes[1] as Node;
    const keys = async (prefix: string) => (await etcd.etcdctl(['get', '--prefix', '--keys-only', prefix])).stdout.trim().split('\n').filter(Boolean);
    await h2.host.createJail('gcme');
    await attach(h2, 'gcme', ['-p', '8092:80/tcp']);
    await until('gcme in etcd', async () => (await keys('/jailnet/app/names/gcme/')).length === 1 && (await keys('/jailnet/app/ports/h2/gcme/')).length === 1);
    await h2.host.removeJail('gcme');
    await h2.cli.ok(['gc']);
    await until('gcme gone from etcd', async () => (await keys('/jailnet/app/names/gcme/')).length === 0 && (await keys('/jailnet/app/ports/h2/gcme/')).length === 0);
    // The positive control: the live jails' names stay.
    expect(await keys('/jailnet/app/names/j2/')).toHaveLength(1);
  });

  test('with one etcd member killed, cluster attaches go on', async () => {
    await etcd.kill(0);
    await nodes[1]!.host.createJail('j4');
    const a = await attach(nodes[1]!, 'j4');
    expect((await nodes[1]!.host.jexec('j4', ['/usr/bin/ping', '-c1', '-W3', addr.j1 as string])).code).toBe(0);
    // Names reach the other hosts through etcd's watch (or the next resync): within seconds.
    await until('j4 known on h1', async () => (await dig(nodes[0]!.host, 'j1', gw.j1 as string, ['j4.app'])).answers[0] === `A ${a}`);
    await etcd.restart(0);
  });

  test('1,000 concurrent IPAM attaches on three hosts never give one address twice (etcd and the hosts agree)', async () => {
    const subnet = '10.71.0.0/21';
    const settings = { endpoints: etcd.endpoints, vni: 4243, underlay: 'em0', blockPrefix: 26, leaseTtl: 3, reclaimGrace: 2 };
    const results = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const n = nodes[i % 3] as Node;
        const r = await n.daemon.post('/v1/allocate', { network: 'bulk', containerID: `bulk${i}`, ifname: 'eth0', ranges: [[{ subnet }]], cluster: settings });
        return { host: n.name, status: r.status, body: r.body };
      }),
    );
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // On the hosts: every lease, from each daemon's state (on disk before it answered).
    const leases = (await Promise.all(nodes.map(async (n) => (await n.daemon.leases('bulk')).map((l: LeaseView) => ({ host: n.name, address: l.ips[0]?.address.split('/')[0] as string }))))).flat();
    expect(leases).toHaveLength(1000);
    expect(new Set(leases.map((l) => l.address)).size).toBe(1000);
    // In etcd: the blocks, each owned by one host, and every lease inside a block of its own host.
    const got = await etcd.etcdctl(['get', '--prefix', '/jailnet/bulk/blocks/']);
    const lines = got.stdout.trim().split('\n');
    const owner = new Map<string, string>();
    for (let i = 0; i < lines.length; i += 2) owner.set((lines[i] as string).slice('/jailnet/bulk/blocks/'.length), (JSON.parse(lines[i + 1] as string) as { host: string }).host);
    for (const l of leases) expect({ address: l.address, owner: owner.get(blockOfAddress(l.address, 26)) }).toEqual({ address: l.address, owner: l.host });
    // Etcd was asked for a block only when a host's blocks were full: 1000 / 62 per block.
    expect(owner.size).toBeLessThanOrEqual(Math.ceil(1000 / 3 / 62) * 3 + 3);
  }, 60_000);

  test('jailnetd restarted: it joins its cluster network again at start, and the tunnels come back without an attach', async () => {
    const h2 = nodes[1] as Node;
    await h2.daemon.restart();
    await until('h2 back on the overlay', async () => {
      const s = await clusterStatus(h2, 'app');
      const tunnels = (await h2.host.runOk('ifconfig', ['-l'])).split(/\s+/).filter((x) => x.startsWith(`vx${VNI}p`));
      return s && !s.fenced && tunnels.length === 2;
    });
    expect((await h2.host.jexec('j2', ['/usr/bin/ping', '-c1', '-W3', addr.j3 as string])).code).toBe(0);
  });

  test('a host cut off: after its lease expires the others drop its tunnel and reclaim and reuse its block; back, it finds the block lost and stays off the overlay', async () => {
    const [h1, , h3] = nodes as [Node, Node, Node];
    const before = (await clusterStatus(h3, 'app')) as ClusterNetworkStatus;
    const h3Block = before.blocks[0] as string;
    // The machine is gone for the others: no etcd, no tunnels.
    await cluster.setLink(h3.host, false);
    await until('h1 drops the tunnel to h3', async () => !(await h1.host.runOk('ifconfig', ['-l'])).split(/\s+/).includes(`vx${VNI}p${before.index}`));
    expect((await clusterStatus(h1, 'app'))?.peers.map((p) => p.host).sort()).toEqual(['h2']);
    // h3 itself is fenced: off the overlay, its jail keeps its address.
    await until('h3 fenced and without tunnels', async () => (await clusterStatus(h3, 'app'))?.fenced && !(await h3.host.runOk('ifconfig', ['-l'])).includes(`vx${VNI}p`));
    expect((await h3.host.jexec('j3', ['/usr/sbin/ifconfig', 'eth0'])).stdout).toContain(addr.j3);
    await until('the block of h3 reclaimed', async () => {
      const s = await Promise.all([clusterStatus(h1, 'app'), clusterStatus(nodes[1]!, 'app')]);
      return s.some((x) => x?.reclaimed.includes(h3Block));
    });
    // h1 fills its block and the free one, then gets h3's old block.
    const cfg = (JSON.parse(readFileSync(join(h1.cli.env.JAILNET_CONF_DIR as string, 'app.conflist'), 'utf8')) as { plugins: { ipam: { cluster: unknown } }[] }).plugins[0]?.ipam.cluster;
    const got: string[] = [];
    for (let i = 0; i < 40 && !got.some((a) => blockOfAddress(a, 28) === h3Block); i++) {
      const r = await h1.daemon.post('/v1/allocate', { network: 'app', containerID: `fill${i}`, ifname: 'eth0', ranges: [[{ subnet: SUBNET }]], cluster: cfg });
      expect(r.status).toBe(200);
      got.push((JSON.parse(r.body) as { lease: LeaseView }).lease.ips[0]?.address.split('/')[0] as string);
    }
    expect(got.some((a) => blockOfAddress(a, 28) === h3Block)).toBe(true);
    expect((await clusterStatus(h1, 'app'))?.blocks).toContain(h3Block);
    // Back: h3 registers again, finds its block gone, reports it and stays off the overlay; the
    // others make no tunnel to it; its attaches are refused.
    await cluster.setLink(h3.host, true);
    const back = await until('h3 registered again', async () => {
      const s = await clusterStatus(h3, 'app');
      return s && !s.fenced ? s : undefined;
    });
    expect(back).toMatchObject({ isolated: true, lostBlocks: [h3Block] });
    expect((await h3.host.runOk('ifconfig', ['-l'])).split(/\s+/).filter((x) => x.startsWith(`vx${VNI}p`))).toEqual([]);
    expect((await h1.host.runOk('ifconfig', ['-l'])).split(/\s+/)).not.toContain(`vx${VNI}p${before.index}`);
    const refused = await h3.daemon.post('/v1/allocate', { network: 'app', containerID: 'late', ifname: 'eth0', ranges: [[{ subnet: SUBNET }]], cluster: cfg });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { reason: 'cluster-unavailable', message: `cluster network app: blocks ${h3Block} were reclaimed by other hosts while this host was fenced` } });
  }, 60_000);

  test('with TLS: a cluster network whose etcd asks for client certificates', async () => {
    const tlsEtcd = await startEtcd(cluster, { members: 1, tls: true });
    try {
      const tls = tlsEtcd.tls!;
      const settings = { endpoints: tlsEtcd.endpoints, tls: { ca: tls.ca, cert: tls.cert, key: tls.key }, vni: 4244, underlay: 'em0', leaseTtl: 3 };
      const r = await nodes[0]!.daemon.post('/v1/allocate', { network: 'sec', containerID: 'sec1', ifname: 'eth0', ranges: [[{ subnet: '10.74.0.0/24' }]], cluster: settings });
      expect(r.status).toBe(200);
      const block = (await clusterStatus(nodes[0]!, 'sec'))?.blocks[0];
      expect((await tlsEtcd.etcdctl(['get', '--print-value-only', `/jailnet/sec/blocks/${block}`])).stdout).toBe('{"host":"h1","home":true}\n');
      // Without the client certificate the member refuses: the attach fails, nothing is kept.
      const noCert = await nodes[1]!.daemon.post('/v1/allocate', { network: 'sec', containerID: 'sec2', ifname: 'eth0', ranges: [[{ subnet: '10.74.0.0/24' }]], cluster: { ...settings, tls: { ca: tls.ca } } });
      expect(noCert.status).toBe(503);
      expect(JSON.parse(noCert.body)).toMatchObject({ error: { reason: 'cluster-unavailable', message: expect.stringMatching(/^cluster network sec: cannot join: etcd at https:\/\/198\.51\.100\.\d+:2379 did not answer/) } });
      expect(await nodes[1]!.daemon.leases('sec')).toEqual([]);
    } finally {
      await tlsEtcd.stop();
    }
  });

  test('etcd down: a local network attaches as before; a cluster attach fails with a clear error and leaves nothing', async () => {
    const [h1, h2] = nodes as [Node, Node];
    await h1.cli.ok(['network', 'create', 'loc', '--subnet', '10.72.0.0/24']);
    for (let i = 0; i < 3; i++) await etcd.kill(i);
    await until('h2 fenced', async () => (await clusterStatus(h2, 'app'))?.fenced);
    await h1.host.createJail('l1');
    const out = JSON.parse(await h1.cli.ok(['attach', 'l1', '-n', 'loc', '--json'])) as { result: { ips: { gateway: string }[] } }[];
    expect((await h1.host.jexec('l1', ['/usr/bin/ping', '-c1', '-W3', out[0]?.result.ips[0]?.gateway as string])).code).toBe(0);
    await h2.host.createJail('j5');
    const before = await h2.host.interfaces();
    const leasesBefore = await h2.daemon.leases('app');
    const r = await h2.cli.run(['attach', 'j5', '-n', 'app']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cluster network app: this host's membership was not renewed for \d+ s \(lease TTL 3 s\): etcd at http:\/\/198\.51\.100\.\d+:2379.* unreachable/);
    expect(await h2.host.interfaces()).toEqual(before);
    expect(await h2.daemon.leases('app')).toEqual(leasesBefore);
    // Fenced, it is off the overlay: its jails keep their addresses but no tunnel.
    expect((await h2.host.runOk('ifconfig', ['-l'])).split(/\s+/).filter((x) => x.startsWith(`vx${VNI}p`))).toEqual([]);
    expect((await h2.host.jexec('j2', ['/usr/sbin/ifconfig', 'eth0'])).stdout).toContain(addr.j2);
  });
});
