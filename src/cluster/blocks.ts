import { formatAddress } from '../net/address';
import { networkOf, parseCidr } from '../net/cidr';
import type { RangeConfig } from '../ipam/range';

/**
 * Address blocks of a cluster network (docs/cluster.md): the subnet cut into /blockPrefix
 * blocks, each owned by one host at a time (etcd `blocks/CIDR`). A host's pool is its blocks:
 * one range per block, whose addresses the local IPAM hands out. The host's gateway is the
 * first address after its first block's own address (never handed out, as every gateway);
 * the subnet's network and broadcast addresses stay out as always.
 */

/** Every block of the subnet, in address order (IPv4). */
export function blocksOf(subnet: string, blockPrefix: number): string[] {
  const net = parseCidr(subnet);
  const count = 2 ** (blockPrefix - net.prefix);
  const size = 2n ** BigInt(32 - blockPrefix);
  const base = networkOf(net);
  return Array.from({ length: count }, (_, i) => `${formatAddress(4, base + BigInt(i) * size)}/${blockPrefix}`);
}

function bounds(block: string): { first: bigint; last: bigint } {
  const b = parseCidr(block);
  const first = networkOf(b);
  return { first, last: first + 2n ** BigInt(32 - b.prefix) - 1n };
}

/** The gateway a host puts on its bridge: the address after its home block's own address. */
export function gatewayOf(homeBlock: string): string {
  return formatAddress(4, bounds(homeBlock).first + 1n);
}

/**
 * The ranges of the local pool for a host's blocks (home block first): each block whole, less
 * its own first address (the home block's gateway, or kept out so that every block's first
 * address is never a jail's), within the subnet.
 */
export function rangesOf(subnet: string, blocks: readonly string[], gateway: string): RangeConfig[][] {
  return [
    blocks.map((block) => {
      const { first, last } = bounds(block);
      return { subnet, rangeStart: formatAddress(4, first + 1n), rangeEnd: formatAddress(4, last), gateway };
    }),
  ];
}

/** The block an address lies in. */
export function blockOfAddress(address: string, blockPrefix: number): string {
  return `${formatAddress(4, networkOf(parseCidr(`${address.split('/')[0]}/${blockPrefix}`)))}/${blockPrefix}`;
}
