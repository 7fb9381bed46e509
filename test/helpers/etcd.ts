import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatedCluster, RunResult, UnderlayNode } from '../harness/emulated-host';

/**
 * A real etcd cluster for tests: Debian's etcd-server (3.4, v3 API), one member per node of an
 * emulated cluster's underlay (its own namespace, so the emulated hosts' daemons reach it over
 * the underlay as they would reach etcd machines), data dirs in a temp dir. Members can be
 * killed (SIGKILL) and started again on their data. With `tls`, a CA, a server certificate per
 * member (its underlay address as IP SAN) and one client certificate are made with openssl at
 * start; clients must then present the client certificate (--client-cert-auth), and the members
 * talk to each other over TLS too. Everything lives in the cluster's namespaces and the temp dir.
 */

export const ETCD = '/usr/bin/etcd';
export const ETCDCTL = '/usr/bin/etcdctl';
const OPENSSL = '/usr/bin/openssl';
export const canRunEtcd: boolean = existsSync(ETCD) && existsSync(ETCDCTL) && existsSync(OPENSSL);

export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
}

export interface EtcdMember {
  name: string;
  node: UnderlayNode;
  clientUrl: string;
  running: boolean;
}

export interface TestEtcd {
  members: EtcdMember[];
  /** Client URLs of every member (http:// or https://). */
  endpoints: string[];
  /** The client's CA, certificate and key, with `tls`. */
  tls?: EtcdTls;
  dir: string;
  /** etcdctl against the given members (default all), from the first member's namespace unless `from` is given. */
  etcdctl(args: readonly string[], opts?: { endpoints?: string[]; from?: UnderlayNode }): Promise<RunResult>;
  /** Waits until every running member reports healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** SIGKILL of one member (a machine that dies). */
  kill(index: number): Promise<void>;
  /** Starts a killed member again on its data dir. */
  restart(index: number): Promise<void>;
  /** Kills every member and removes the data. */
  stop(): Promise<void>;
  /** A member's output so far. */
  log(index: number): string;
}

export interface EtcdOptions {
  members?: number;
  tls?: boolean;
}

function makeCertificates(dir: string, addresses: string[]): EtcdTls & { server: { cert: string; key: string }[] } {
  const run = (args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=jailnet test etcd CA']);
  const issue = (name: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };
  const server = addresses.map((a, i) => issue(`member${i}`, `subjectAltName=IP:${a},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`));
  const client = issue('client', 'extendedKeyUsage=clientAuth\n');
  return { ca: join(dir, 'ca.pem'), ...client, server };
}

let nextRun = 0;

export async function startEtcd(cluster: EmulatedCluster, opts: EtcdOptions = {}): Promise<TestEtcd> {
  const count = opts.members ?? 3;
  // In memory where the machine has it: etcd fsyncs its WAL at every write, and on a disk shared
  // with the other suites' writes a member's fsync could stall past the 3 s lease TTL the cluster
  // tests use (seen once in CI: every renewal missed for 12 s). What the tests check (leases,
  // transactions, members killed and back) does not depend on where the WAL is.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'jailnet-etcd-'));
  // Node names unique per start: a test file may start several etcd clusters on one underlay.
  const run = nextRun++;
  const nodes = Array.from({ length: count }, (_, i) => cluster.addNode(`etcd${run}m${i}`));
  const scheme = opts.tls ? 'https' : 'http';
  const certs = opts.tls ? makeCertificates(dir, nodes.map((n) => n.address)) : undefined;
  const peerUrl = (n: UnderlayNode) => `${scheme}://${n.address}:2380`;
  const initialCluster = nodes.map((n, i) => `m${i}=${peerUrl(n)}`).join(',');
  const children: (ChildProcess | undefined)[] = [];
  const logs: string[] = nodes.map(() => '');
  const members: EtcdMember[] = nodes.map((node, i) => ({ name: `m${i}`, node, clientUrl: `${scheme}://${node.address}:2379`, running: false }));

  const argv = (i: number): string[] => {
    const node = nodes[i] as UnderlayNode;
    const dataDir = join(dir, `m${i}.data`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const tls = certs
      ? [
          '--cert-file', (certs.server[i] as { cert: string }).cert, '--key-file', (certs.server[i] as { key: string }).key,
          '--trusted-ca-file', certs.ca, '--client-cert-auth',
          '--peer-cert-file', (certs.server[i] as { cert: string }).cert, '--peer-key-file', (certs.server[i] as { key: string }).key,
          '--peer-trusted-ca-file', certs.ca, '--peer-client-cert-auth',
        ]
      : [];
    return [
      ETCD, '--name', `m${i}`, '--data-dir', dataDir,
      '--listen-client-urls', `${scheme}://${node.address}:2379`, '--advertise-client-urls', `${scheme}://${node.address}:2379`,
      '--listen-peer-urls', peerUrl(node), '--initial-advertise-peer-urls', peerUrl(node),
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', `jailnet-test-${process.pid}`,
      '--logger', 'zap', '--log-level', 'warn',
      ...tls,
    ];
  };
  const startMember = (i: number) => {
    const child = (nodes[i] as UnderlayNode).spawn(argv(i));
    child.stdout?.on('data', (d: Buffer) => (logs[i] += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (logs[i] += d.toString()));
    children[i] = child;
    (members[i] as EtcdMember).running = true;
  };
  const ctlTls = certs ? ['--cacert', certs.ca, '--cert', certs.cert, '--key', certs.key] : [];
  const etcd: TestEtcd = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    ...(certs ? { tls: { ca: certs.ca, cert: certs.cert, key: certs.key } } : {}),
    dir,
    etcdctl(args, o = {}) {
      const from = o.from ?? (nodes[0] as UnderlayNode);
      return from.exec([ETCDCTL, '--endpoints', (o.endpoints ?? etcd.endpoints).join(','), '--dial-timeout', '2s', '--command-timeout', '3s', ...ctlTls, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    },
    async waitHealthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const running = members.filter((m) => m.running);
        const results = await Promise.all(running.map((m) => etcd.etcdctl(['endpoint', 'health'], { endpoints: [m.clientUrl] })));
        if (results.every((r) => r.code === 0)) return;
        if (Date.now() > deadline) throw new Error(`etcd not healthy within ${timeoutMs} ms: ${results.map((r) => r.stderr.trim()).join('; ')}\n${logs.join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async kill(index) {
      const child = children[index];
      const member = members[index] as EtcdMember;
      if (!child || !member.running) return;
      const exited = new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done())));
      // etcd runs under `ip netns exec`, which execs it: the child's PID is etcd's own.
      child.kill('SIGKILL');
      await exited;
      member.running = false;
    },
    async restart(index) {
      if ((members[index] as EtcdMember).running) return;
      startMember(index);
      await etcd.waitHealthy();
    },
    async stop() {
      for (let i = 0; i < count; i++) await etcd.kill(i);
      rmSync(dir, { recursive: true, force: true });
    },
    log: (index) => logs[index] ?? '',
  };
  try {
    for (let i = 0; i < count; i++) startMember(i);
    await etcd.waitHealthy();
  } catch (err) {
    await etcd.stop();
    throw err;
  }
  return etcd;
}

