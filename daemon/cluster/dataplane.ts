import type { ClusterSettings } from '../../src/cluster/config';
import { configureInterface, createVxlan, destroyInterface, ifw, listInterfaceNames, showInterface } from '../../src/freebsd/ifconfig';
import { log } from '../../src/log/logger';

/**
 * A cluster network's overlay on this host: one vxlan(4) interface per peer, a private member
 * of the network's bridge (docs/cluster.md).
 *
 * - Unicast, one interface per peer, not `vxlangroup`: multicast is rarely routed on cloud
 *   and data-centre underlays, and a unicast vxlan has exactly one remote (if_vxlan.c).
 * - One VNI per network. FreeBSD allows a VNI once per UDP socket (vxlan_socket_insert_softc:
 *   "network identifier N already exists in this socket"), and every interface towards a peer
 *   carries the same VNI, so each has a socket of its own: the interface towards the peer with
 *   index j listens on port+j and sends to the peer's port+i (i: this host's index).
 * - `private` members: a frame from one peer is never forwarded to another (if_bridge's
 *   IFBIF_PRIVATE), so the full mesh of tunnels has no loop and needs no STP.
 * - The MTU of the interfaces is the network's (1450 by default: 1500 less 50 bytes of
 *   encapsulation over IPv4), the same as the jails' epairs, as the bridge requires of its members.
 * Interfaces are named `vx<VNI>p<index>` (at most 15 characters), which is how this host finds
 * its own after a restart.
 */

export interface Peer {
  host: string;
  underlay: string;
  index: number;
}

export class Dataplane {
  bridge: string | undefined;
  /** Name -> the remote and ports it was made with. */
  private readonly made = new Map<string, string>();
  private readonly namePattern: RegExp;

  constructor(
    private readonly network: string,
    private readonly settings: ClusterSettings,
  ) {
    this.namePattern = new RegExp(`^vx${settings.vni}p(\\d+)$`);
  }

  nameFor(peerIndex: number): string {
    return `vx${this.settings.vni}p${peerIndex}`;
  }

  /** Makes the members towards exactly `peers` (none: this host is off the overlay). */
  async apply(underlay: string | undefined, ownIndex: number | undefined, peers: readonly Peer[]): Promise<void> {
    const bridge = this.bridge;
    const present = (await listInterfaceNames()).filter((n) => this.namePattern.test(n));
    const bridgeUp = bridge !== undefined && (await showInterface(bridge)) !== undefined;
    const want = new Map<string, { peer: Peer; spec: string }>();
    if (bridgeUp && underlay !== undefined && ownIndex !== undefined) {
      for (const peer of peers) want.set(this.nameFor(peer.index), { peer, spec: `${peer.underlay}:${this.settings.port + ownIndex}<-${this.settings.port + peer.index}` });
    }
    for (const name of present) {
      if (want.get(name)?.spec === this.made.get(name)) continue;
      await destroyInterface(name);
      this.made.delete(name);
      log.info(`cluster network ${this.network}: removed tunnel ${name}`, { network: this.network });
    }
    for (const [name, { peer, spec }] of want) {
      if (this.made.get(name) === spec && present.includes(name)) continue;
      const created = await createVxlan({ vni: this.settings.vni, local: underlay as string, remote: peer.underlay, localPort: this.settings.port + peer.index, remotePort: this.settings.port + (ownIndex as number) });
      try {
        await configureInterface(created, [ifw.mtu(this.settings.mtu), ifw.description(`jailnet ${this.network} to ${peer.host}`), ifw.name(name)]);
        await configureInterface(bridge as string, [ifw.addm(name), ifw.private(name)]);
        await configureInterface(name, [ifw.up()]);
      } catch (err) {
        await destroyInterface(created).catch(() => undefined);
        await destroyInterface(name).catch(() => undefined);
        throw err;
      }
      this.made.set(name, spec);
      log.info(`cluster network ${this.network}: tunnel ${name} to ${peer.host} (${peer.underlay})`, { network: this.network });
    }
  }
}
