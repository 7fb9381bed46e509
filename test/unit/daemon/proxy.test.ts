import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { proxySpecs } from '../../../daemon/firewall';
import { UserlandProxy, type ProxySpec } from '../../../daemon/proxy';
import { IpamError } from '../../../src/ipam/errors';
import type { PortForward } from '../../../src/firewall/intent';

// jailnetd's userland proxy with real sockets on the loopback interface (no emulated host needed:
// the proxy is plain sockets; tests/plugins/portmap.test.ts runs it inside the emulated host).

const LO = '127.0.0.1';
const proxy = new UserlandProxy();
const servers: (Server | UdpSocket)[] = [];
afterEach(async () => {
  await proxy.closeAll();
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A TCP port nothing listens on (bound and released; good enough on loopback in one process). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, LO, () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const spec = (protocol: 'tcp' | 'udp', port: number, targetPort: number): ProxySpec => ({ protocol, listenAddress: LO, port, targetAddress: LO, targetPort });

/** A TCP service that reads until the client half-closes, then answers with what it got and closes. */
async function countingServer(): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    let got = '';
    sock.on('data', (b: Buffer) => (got += b.toString()));
    sock.on('end', () => sock.end(`got ${got.length} bytes: ${got}`));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, LO, () => r()));
  return (server.address() as AddressInfo).port;
}

/** Connects, writes, half-closes, and reads until the other side closes. */
function exchange(port: number, message: string): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    let data = '';
    const sock = connect({ host: LO, port, allowHalfOpen: true }, () => sock.end(message));
    sock.on('data', (b: Buffer) => (data += b.toString()));
    sock.on('error', (err: NodeJS.ErrnoException) => resolve({ data, error: err.code ?? err.message }));
    sock.on('close', () => resolve({ data }));
  });
}

describe('TCP', () => {
  test('piped both ways; the client half-closing reaches the service, which still answers', async () => {
    const target = await countingServer();
    const port = await freePort();
    await proxy.open('a', [spec('tcp', port, target)]);
    expect(await exchange(port, 'hello')).toEqual({ data: 'got 5 bytes: hello' });
    expect(proxy.listeners('a')).toEqual([{ protocol: 'tcp', address: LO, port }]);
  });

  test('a service that refuses: the client connection is closed without data', async () => {
    const port = await freePort();
    await proxy.open('a', [spec('tcp', port, await freePort())]);
    const r = await exchange(port, 'hello');
    expect(r.data).toBe('');
  });

  test('retargeting a listener keeps the socket and sends new connections to the new target', async () => {
    const port = await freePort();
    const first = await countingServer();
    await proxy.open('a', [spec('tcp', port, first)]);
    const second = createServer((sock) => sock.resume().end('second'));
    servers.push(second);
    await new Promise<void>((r) => second.listen(0, LO, () => r()));
    const change = await proxy.open('a', [spec('tcp', port, (second.address() as AddressInfo).port)]);
    expect(change).toMatchObject({ opened: [], retargeted: [expect.objectContaining({ targetPort: first })] });
    expect((await exchange(port, 'x')).data).toBe('second');
    // undo() puts the old target back.
    await proxy.undo(change);
    expect((await exchange(port, 'abc')).data).toBe('got 3 bytes: abc');
  });
});

describe('UDP', () => {
  test('one flow per client: each gets its own replies, the service sees one source per client', async () => {
    const service = createSocket('udp4');
    servers.push(service);
    const seen = new Set<number>();
    service.on('message', (msg, from) => {
      seen.add(from.port);
      service.send(`echo ${msg.toString()}`, from.port, from.address);
    });
    await new Promise<void>((r) => service.bind(0, LO, () => r()));
    const port = await freePort();
    await proxy.open('u', [spec('udp', port, service.address().port)]);
    const ask = (text: string) =>
      new Promise<string>((resolve) => {
        const c = createSocket('udp4');
        c.on('message', (m) => {
          c.close();
          resolve(m.toString());
        });
        c.send(text, port, LO);
      });
    expect(await Promise.all([ask('one'), ask('two')])).toEqual(['echo one', 'echo two']);
    expect(seen.size).toBe(2);
  });
});

describe('opening is all or nothing', () => {
  test('a port another program holds: port-in-use naming it, and the sockets this call opened are closed', async () => {
    const squatter = createServer();
    servers.push(squatter);
    await new Promise<void>((r) => squatter.listen(0, LO, () => r()));
    const taken = (squatter.address() as AddressInfo).port;
    const free = await freePort();
    let err: unknown;
    try {
      await proxy.open('b', [spec('tcp', free, 1), spec('tcp', taken, 1)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpamError);
    expect(err).toMatchObject({ reason: 'port-in-use', message: `host port ${LO}:${taken}/tcp is in use by another program: the userland proxy cannot listen on it` });
    expect(proxy.listeners('b')).toEqual([]);
    // The first port is free again.
    const again = createServer();
    servers.push(again);
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(free, LO, () => resolve());
    });
  });

  test('close(owner, keep) closes only the listeners not kept', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    await proxy.open('c', [spec('tcp', p1, 1), spec('udp', p2, 1)]);
    await proxy.close('c', [spec('udp', p2, 1)]);
    expect(proxy.listeners('c')).toEqual([{ protocol: 'udp', address: LO, port: p2 }]);
  });
});

describe('proxySpecs', () => {
  const fwd = (over: Partial<PortForward>): PortForward => ({
    network: 'n',
    containerID: 'c',
    ifname: 'eth0',
    mappings: [{ protocol: 'tcp', hostPort: 8080, hostPortEnd: 8080, containerPort: 80 }],
    target: { v4: '10.88.0.5/16', v6: 'fd88::5/64' },
    snat: true,
    userlandProxy: true,
    ...over,
  });

  test('no hostIP: the wildcard of each family the jail has, to its address of that family', () => {
    expect(proxySpecs(fwd({}))).toEqual([
      { protocol: 'tcp', listenAddress: '0.0.0.0', port: 8080, targetAddress: '10.88.0.5', targetPort: 80 },
      { protocol: 'tcp', listenAddress: '::', port: 8080, targetAddress: 'fd88::5', targetPort: 80 },
    ]);
    expect(proxySpecs(fwd({ target: { v4: '10.88.0.5/16' } })).map((s) => s.listenAddress)).toEqual(['0.0.0.0']);
  });

  test('a hostIP: that address only; a range: one socket per port; userlandProxy false: none', () => {
    expect(proxySpecs(fwd({ mappings: [{ protocol: 'udp', hostPort: 53, hostPortEnd: 53, containerPort: 5353, hostIP: '192.0.2.1' }] }))).toEqual([
      { protocol: 'udp', listenAddress: '192.0.2.1', port: 53, targetAddress: '10.88.0.5', targetPort: 5353 },
    ]);
    expect(proxySpecs(fwd({ mappings: [{ protocol: 'tcp', hostPort: 9000, hostPortEnd: 9002, containerPort: 7000, hostIP: '::' }] })).map((s) => `${s.listenAddress} ${s.port}->${s.targetPort}`)).toEqual([':: 9000->7000', ':: 9001->7001', ':: 9002->7002']);
    expect(proxySpecs(fwd({ userlandProxy: false }))).toEqual([]);
  });
});
