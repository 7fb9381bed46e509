/**
 * The etcd fixture (test/helpers/etcd.ts): three Debian etcd members on an emulated underlay,
 * plain and with TLS; one member killed, the other two still serve; all killed, refused.
 */
import { canRunEmulator, createEmulatedCluster, type EmulatedCluster } from '../harness/emulated-host';
import { canRunEtcd, startEtcd, type TestEtcd } from '../helpers/etcd';

const d = canRunEmulator && canRunEtcd ? describe : describe.skip;

d('etcd fixture', () => {
  let cluster: EmulatedCluster;
  let etcd: TestEtcd | undefined;
  beforeAll(async () => {
    cluster = await createEmulatedCluster({ hosts: 1 });
  });
  afterEach(async () => {
    await etcd?.stop();
    etcd = undefined;
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  test('three members: put and get from an emulated host; one killed, still serving; restarted; all killed, refused', async () => {
    etcd = await startEtcd(cluster);
    expect((await etcd.etcdctl(['put', '/t/a', 'one'])).code).toBe(0);
    // From inside an emulated host's namespace, over the underlay, as jailnetd reaches it.
    const host = cluster.hosts[0]!;
    const got = await host.hostExec(['/usr/bin/etcdctl', '--endpoints', etcd.endpoints.join(','), 'get', '--print-value-only', '/t/a'], { env: { ...process.env, ETCDCTL_API: '3' } });
    expect(got).toMatchObject({ code: 0, stdout: 'one\n' });
    await etcd.kill(0);
    const rest = etcd.endpoints.slice(1);
    // The two left elect a leader (when the killed one led) before they take writes: a client retries.
    let put = await etcd.etcdctl(['put', '/t/b', 'two'], { endpoints: rest, from: etcd.members[1]!.node });
    for (let i = 0; i < 5 && put.code !== 0; i++) put = await etcd.etcdctl(['put', '/t/b', 'two'], { endpoints: rest, from: etcd.members[1]!.node });
    expect(put).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await etcd.etcdctl(['get', '--print-value-only', '/t/b'], { endpoints: rest, from: etcd.members[1]!.node })).toMatchObject({ code: 0, stdout: 'two\n' });
    await etcd.restart(0);
    // The restarted member caught up with what was written while it was down.
    expect(await etcd.etcdctl(['get', '--print-value-only', '/t/b'], { endpoints: [etcd.endpoints[0]!] })).toMatchObject({ code: 0, stdout: 'two\n' });
    for (let i = 0; i < 3; i++) await etcd.kill(i);
    const down = await etcd.etcdctl(['get', '/t/a'], { from: etcd.members[1]!.node });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/connection refused|context deadline exceeded/);
  });

  test('with TLS: a client with the certificate is served, one without is refused', async () => {
    etcd = await startEtcd(cluster, { tls: true });
    expect(etcd.endpoints[0]).toMatch(/^https:\/\//);
    expect((await etcd.etcdctl(['put', '/t/tls', 'yes'])).code).toBe(0);
    expect(await etcd.etcdctl(['get', '--print-value-only', '/t/tls'])).toMatchObject({ code: 0, stdout: 'yes\n' });
    const tls = etcd.tls!;
    // The CA alone (no client certificate): the member asks for one and refuses the handshake.
    const noCert = await etcd.members[0]!.node.exec(['/usr/bin/etcdctl', '--endpoints', etcd.endpoints[0]!, '--dial-timeout', '2s', '--cacert', tls.ca, 'get', '/t/tls'], { env: { ...process.env, ETCDCTL_API: '3' } });
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toMatch(/bad certificate|certificate required|deadline exceeded/);
  });
});
