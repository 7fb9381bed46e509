import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';

/**
 * The DNS server's sockets on one gateway address: UDP and TCP, port 53, bound to that address
 * only (never the wildcard: the host would answer on em0 too). TCP follows RFC 7766: two-byte
 * length before each message, several queries per connection answered in order, idle
 * connections closed, and the number of connections capped.
 */

export type Transport = 'udp' | 'tcp';
export type QueryHandler = (message: Buffer, from: { address: string; port: number }, transport: Transport) => Promise<Buffer | undefined>;

export interface ListenerLimits {
  /** TCP connections at once, over all gateways' listeners of the process. */
  maxTcpConnections: number;
  /** A TCP connection with nothing to read or answer for this long is closed. */
  tcpIdleMs: number;
  /** Queries of one TCP connection waiting for their answer; more close it. */
  maxPendingPerConnection: number;
  /** Larger UDP datagrams are dropped unread (a query is a few hundred bytes). */
  maxUdpQuery: number;
}

const UDP_RECEIVE_BUFFER = 1024 * 1024;

export const DEFAULT_LIMITS: ListenerLimits = { maxTcpConnections: 256, tcpIdleMs: 10_000, maxPendingPerConnection: 16, maxUdpQuery: 4096 };

/** A bind that failed: the address and the errno (EADDRNOTAVAIL: not on an interface; EADDRINUSE: another program). */
export class BindError extends Error {
  constructor(
    readonly address: string,
    readonly code: string,
  ) {
    super(
      code === 'EADDRINUSE'
        ? `port 53 on ${address} is held by another program (sockstat -l -p 53)`
        : code === 'EADDRNOTAVAIL'
          ? `${address} is not an address of this host (the gateway is not in place)`
          : `cannot listen on ${address} port 53: ${code}`,
    );
    this.name = 'BindError';
  }
}

export class GatewayListener {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<Socket>();

  constructor(
    readonly address: string,
    private readonly port: number,
    private readonly handler: QueryHandler,
    private readonly limits: ListenerLimits,
    private readonly tcpCount: { open: number },
  ) {}

  async open(): Promise<void> {
    try {
      this.udp = await this.openUdp();
      this.tcp = await this.openTcp();
    } catch (err) {
      await this.close();
      throw new BindError(this.address, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  }

  /** The port bound (the configured one; tests may bind port 0). */
  get boundPort(): number {
    return this.udp?.address().port ?? this.port;
  }

  private openUdp(): Promise<UdpSocket> {
    // A larger receive buffer than the default (about 200 kB on FreeBSD and Linux): a burst from
    // one jail, dropped by the rate limit only once read, crowds out its neighbours' queries later.
    const socket = isIPv6(this.address) ? createSocket({ type: 'udp6', ipv6Only: true, recvBufferSize: UDP_RECEIVE_BUFFER }) : createSocket({ type: 'udp4', recvBufferSize: UDP_RECEIVE_BUFFER });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: this.address, port: this.port, exclusive: true }, () => {
        socket.off('error', reject);
        // Errors after bind (ICMP errors of a send, EMFILE...) are not the listener's end.
        socket.on('error', () => undefined);
        socket.on('message', (msg, rinfo) => {
          if (msg.length > this.limits.maxUdpQuery) return;
          this.handler(msg, { address: rinfo.address, port: rinfo.port }, 'udp').then(
            (answer) => answer && this.udp === socket && socket.send(answer, rinfo.port, rinfo.address),
            () => undefined,
          );
        });
        resolve(socket);
      });
    });
  }

  private openTcp(): Promise<Server> {
    // bind to the same port UDP got (port 0 in tests picks one for UDP first).
    const port = this.udp?.address().port ?? this.port;
    const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.address, port, exclusive: true, ...(isIPv6(this.address) ? { ipv6Only: true } : {}) }, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve(server);
      });
    });
  }

  private accept(socket: Socket): void {
    if (this.tcpCount.open >= this.limits.maxTcpConnections) {
      socket.destroy();
      return;
    }
    this.tcpCount.open++;
    this.connections.add(socket);
    socket.once('close', () => {
      this.tcpCount.open--;
      this.connections.delete(socket);
    });
    socket.on('error', () => undefined);
    socket.setTimeout(this.limits.tcpIdleMs, () => socket.destroy());
    const from = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    let buffered: Buffer = Buffer.alloc(0);
    let pending = 0;
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < length + 2) break;
        const message = Buffer.from(buffered.subarray(2, length + 2));
        buffered = buffered.subarray(length + 2);
        if (++pending > this.limits.maxPendingPerConnection) {
          socket.destroy();
          return;
        }
        // Answered in the order asked (RFC 7766 allows either; in order is what every client reads).
        const answer = this.handler(message, from, 'tcp').catch(() => undefined);
        chain = chain.then(async () => {
          const out = await answer;
          pending--;
          if (!out || socket.destroyed) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(out.length);
          socket.write(Buffer.concat([length, out]));
        });
      }
    });
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const s of this.connections) s.destroy();
    await Promise.all([
      udp ? new Promise<void>((resolve) => udp.close(() => resolve())) : undefined,
      tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : undefined,
    ]);
  }
}
