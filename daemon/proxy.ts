import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ListenerView } from '../src/ipam/api-types';
import { IpamError } from '../src/ipam/errors';
import { log } from '../src/log/logger';

/**
 * The userland proxy for published ports, as Docker's docker-proxy: pf's rdr cannot serve a
 * connection that starts on the host itself (it goes through lo0, and the jail's reply comes
 * back on the bridge with a local source address, which source-address validation drops;
 * shared/reference/freebsd.md), so jailnetd listens on each published host port and forwards
 * what arrives to the jail. Traffic from elsewhere never reaches these sockets: pf redirects it
 * before it is delivered locally. The socket also holds the port against other programs.
 *
 * TCP: each accepted connection is piped to a new connection to the jail, both directions,
 * half-close passed on (allowHalfOpen), an error on either side destroys both. UDP: one flow
 * per client address and port, with its own socket towards the jail; replies go back to the
 * client from the listening socket; a flow idle for `udpIdleMs` (docker-proxy: 90 s) is closed.
 * The jail sees the host's address on its link (the gateway) as the source, as with Docker.
 */

export interface ProxySpec {
  protocol: 'tcp' | 'udp';
  /** Where to listen: an address of the host, or 0.0.0.0 / :: for every address of the family. */
  listenAddress: string;
  port: number;
  targetAddress: string;
  targetPort: number;
}

interface Listener {
  spec: ProxySpec;
  close(): Promise<void>;
}

/** What open() changed, so that undo() can take it back. */
export interface ProxyChange {
  owner: string;
  opened: string[];
  /** Listeners whose target was changed: their previous spec. */
  retargeted: ProxySpec[];
}

export const UDP_IDLE_MS = 90_000;

const listenId = (s: Pick<ProxySpec, 'protocol' | 'listenAddress' | 'port'>) => `${s.protocol}/${s.listenAddress}/${s.port}`;
const hostPort = (address: string, port: number) => `${address.includes(':') ? `[${address}]` : address}:${port}`;

export function describeListen(s: Pick<ProxySpec, 'protocol' | 'listenAddress' | 'port'>): string {
  return `${hostPort(s.listenAddress, s.port)}/${s.protocol}`;
}

export class UserlandProxy {
  /** owner (attachment key) -> listen id -> listener */
  private readonly owners = new Map<string, Map<string, Listener>>();

  constructor(private readonly udpIdleMs = UDP_IDLE_MS) {}

  /** The owner's listening sockets. */
  listeners(owner: string): ListenerView[] {
    return [...(this.owners.get(owner)?.values() ?? [])].map((l) => ({ protocol: l.spec.protocol, address: l.spec.listenAddress, port: l.spec.port }));
  }

  has(owner: string, spec: ProxySpec): boolean {
    const l = this.owners.get(owner)?.get(listenId(spec));
    return l !== undefined && l.spec.targetAddress === spec.targetAddress && l.spec.targetPort === spec.targetPort;
  }

  get size(): number {
    let n = 0;
    for (const m of this.owners.values()) n += m.size;
    return n;
  }

  /**
   * Makes the owner listen on every spec: a listener it already has is kept (its target updated
   * if that changed), the others are opened. All or nothing: when one cannot be opened, those
   * opened by this call are closed again and an IpamError names the port. Listeners of the owner
   * that are not in `specs` stay (close them with close(owner, keep) once the change is done).
   */
  async open(owner: string, specs: readonly ProxySpec[]): Promise<ProxyChange> {
    const mine = this.owners.get(owner) ?? new Map<string, Listener>();
    this.owners.set(owner, mine);
    const change: ProxyChange = { owner, opened: [], retargeted: [] };
    try {
      for (const spec of specs) {
        const id = listenId(spec);
        const existing = mine.get(id);
        if (existing) {
          if (existing.spec.targetAddress !== spec.targetAddress || existing.spec.targetPort !== spec.targetPort) {
            change.retargeted.push(existing.spec);
            existing.spec = { ...spec };
          }
          continue;
        }
        mine.set(id, await (spec.protocol === 'tcp' ? this.listenTcp({ ...spec }) : this.listenUdp({ ...spec })));
        change.opened.push(id);
      }
    } catch (err) {
      await this.undo(change);
      throw err;
    }
    return change;
  }

  /** Takes back what open() did. */
  async undo(change: ProxyChange): Promise<void> {
    const mine = this.owners.get(change.owner);
    if (!mine) return;
    for (const id of change.opened) {
      await mine.get(id)?.close();
      mine.delete(id);
    }
    for (const spec of change.retargeted) {
      const l = mine.get(listenId(spec));
      if (l) l.spec = spec;
    }
    if (mine.size === 0) this.owners.delete(change.owner);
  }

  /** Closes the owner's listeners, all of them or those not in `keep`. */
  async close(owner: string, keep: readonly ProxySpec[] = []): Promise<void> {
    const mine = this.owners.get(owner);
    if (!mine) return;
    const kept = new Set(keep.map(listenId));
    for (const [id, l] of mine) {
      if (kept.has(id)) continue;
      await l.close();
      mine.delete(id);
    }
    if (mine.size === 0) this.owners.delete(owner);
  }

  async closeAll(): Promise<void> {
    for (const owner of [...this.owners.keys()]) await this.close(owner);
  }

  private listenTcp(spec: ProxySpec): Promise<Listener> {
    const connections = new Set<Socket>();
    const listener: Listener = { spec, close: () => closeServer(server, connections) };
    const server: Server = createServer({ allowHalfOpen: true }, (client) => {
      const { targetAddress, targetPort } = listener.spec;
      const upstream = connect({ host: targetAddress, port: targetPort, allowHalfOpen: true });
      for (const s of [client, upstream]) {
        connections.add(s);
        s.setNoDelay(true);
        s.on('close', () => connections.delete(s));
        // A reset or a refused connection on one side ends both (docker-proxy does the same).
        s.on('error', (err: NodeJS.ErrnoException) => {
          log.debug(`userland proxy ${describeListen(listener.spec)} -> ${hostPort(targetAddress, targetPort)}: ${err.code ?? err.message}`);
          client.destroy();
          upstream.destroy();
        });
      }
      // pipe() ends the other side's writing when one side has sent FIN: half-close passes on,
      // and each socket closes once both directions are done.
      client.pipe(upstream);
      upstream.pipe(client);
    });
    return listenOrExplain(spec, listener, (onError, onListening) => {
      server.once('error', onError);
      server.listen({ host: spec.listenAddress, port: spec.port, ipv6Only: spec.listenAddress.includes(':'), exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (err) => log.warn(`userland proxy ${describeListen(listener.spec)}: ${err.message}`));
        onListening();
      });
    });
  }

  private listenUdp(spec: ProxySpec): Promise<Listener> {
    const v6 = spec.listenAddress.includes(':');
    const sock: UdpSocket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
    const flows = new Map<string, { upstream: UdpSocket; timer: NodeJS.Timeout }>();
    const endFlow = (key: string) => {
      const f = flows.get(key);
      if (!f) return;
      clearTimeout(f.timer);
      f.upstream.close();
      flows.delete(key);
    };
    const listener: Listener = {
      spec,
      close: async () => {
        for (const key of [...flows.keys()]) endFlow(key);
        await new Promise<void>((resolve) => sock.close(() => resolve()));
      },
    };
    sock.on('message', (msg: Buffer, client: RemoteInfo) => {
      const key = hostPort(client.address, client.port);
      let flow = flows.get(key);
      if (!flow) {
        const { targetAddress, targetPort } = listener.spec;
        const upstream = createSocket(targetAddress.includes(':') ? 'udp6' : 'udp4');
        const created = { upstream, timer: setTimeout(() => endFlow(key), this.udpIdleMs) };
        upstream.on('message', (reply: Buffer, from: RemoteInfo) => {
          if (from.address !== targetAddress || from.port !== targetPort) return;
          created.timer.refresh();
          sock.send(reply, client.port, client.address);
        });
        upstream.on('error', (err) => {
          log.debug(`userland proxy ${describeListen(listener.spec)} flow ${key}: ${err.message}`);
          endFlow(key);
        });
        flows.set(key, created);
        flow = created;
      }
      flow.timer.refresh();
      flow.upstream.send(msg, listener.spec.targetPort, listener.spec.targetAddress);
    });
    return listenOrExplain(spec, listener, (onError, onListening) => {
      sock.once('error', onError);
      sock.bind({ address: spec.listenAddress, port: spec.port, exclusive: true }, () => {
        sock.off('error', onError);
        sock.on('error', (err) => log.warn(`userland proxy ${describeListen(listener.spec)}: ${err.message}`));
        onListening();
      });
    });
  }
}

/** Runs `start`; a bind error becomes an IpamError that names the port and says why. */
function listenOrExplain(spec: ProxySpec, listener: Listener, start: (onError: (err: NodeJS.ErrnoException) => void, onListening: () => void) => void): Promise<Listener> {
  return new Promise((resolve, reject) => {
    start(
      (err) => {
        const where = describeListen(spec);
        if (err.code === 'EADDRINUSE') {
          reject(new IpamError('port-in-use', `host port ${where} is in use by another program: the userland proxy cannot listen on it`, 'stop that program or publish another host port (see sockstat -l); with "userlandProxy": false the host itself cannot reach the port'));
        } else if (err.code === 'EADDRNOTAVAIL') {
          reject(new IpamError('address-not-allowed', `cannot listen on ${where}: ${spec.listenAddress} is not an address of this host`, 'give a hostIP the host has (ifconfig), or leave hostIP out'));
        } else {
          reject(new IpamError('internal', `the userland proxy cannot listen on ${where}: ${err.message}`));
        }
      },
      () => resolve(listener),
    );
  });
}

function closeServer(server: Server, connections: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const s of connections) s.destroy();
  });
}
