import { networkIngress, type IngressHolding } from '../../../src/firewall/holdings';
import { renderIngressRules } from '../../../src/pf/ingress-rules';

const holding = (containerID: string, extra: Partial<IngressHolding> = {}): IngressHolding => ({ network: 'net', containerID, ifname: 'eth0', policy: 'same-bridge', bridge: 'bridge0', subnets: [{ cidr: '10.88.0.0/16', gateway: '10.88.0.1' }], at: 1, ...extra });

describe('ingress rules (the firewall plugin, pf)', () => {
  test('same-bridge: state for the network\'s own connections, nothing opened from other jailnet links', () => {
    expect(renderIngressRules({ bridge: 'bridge0', policy: 'same-bridge', subnets: [{ cidr: '10.88.0.0/16', gateway: '10.88.0.1' }] })).toBe(
      [
        'table <iso_net4> { 10.88.0.0/16 }',
        'pass in on bridge0 inet from <iso_net4> to ! <iso_net4> keep state',
        'block return in quick on { jailnet, jailnet_host } inet from ! <iso_net4> to <iso_net4>',
        '',
      ].join('\n'),
    );
  });

  test('isolated: also jails of the same bridge apart, the gateway reachable; dual stack', () => {
    expect(renderIngressRules({ bridge: 'cni-podman0', policy: 'isolated', subnets: [{ cidr: '10.88.0.0/16', gateway: '10.88.0.1' }, { cidr: 'fd00:88::/64', gateway: 'fd00:88::1' }] })).toBe(
      [
        'table <iso_net4> { 10.88.0.0/16 }',
        'table <iso_peers4> { 10.88.0.0/16, !10.88.0.1 }',
        'pass in on cni-podman0 inet from <iso_net4> to ! <iso_net4> keep state',
        'block return in quick on { jailnet, jailnet_host } inet from ! <iso_net4> to <iso_net4>',
        'block return in quick on cni-podman0 inet from <iso_net4> to <iso_peers4>',
        'table <iso_net6> { fd00:88::/64 }',
        'table <iso_peers6> { fd00:88::/64, !fd00:88::1 }',
        'pass in on cni-podman0 inet6 from <iso_net6> to ! <iso_net6> keep state',
        'block return in quick on { jailnet, jailnet_host } inet6 from ! <iso_net6> to <iso_net6>',
        'block return in quick on cni-podman0 inet6 from <iso_net6> to <iso_peers6>',
        '',
      ].join('\n'),
    );
  });

  test('names and values are validated before they become rule text', () => {
    expect(() => renderIngressRules({ bridge: 'br0; pass all', policy: 'same-bridge', subnets: [{ cidr: '10.0.0.0/8' }] })).toThrow();
    expect(() => renderIngressRules({ bridge: 'bridge0', policy: 'same-bridge', subnets: [{ cidr: '10.0.0.0/8 } pass' }] })).toThrow();
    expect(() => renderIngressRules({ bridge: 'bridge0', policy: 'isolated', subnets: [{ cidr: '10.0.0.0/8', gateway: '10.0.0.1 }' }] })).toThrow();
  });

  test('a network\'s rules are the union of its attachments\': every subnet, the strictest policy, the latest bridge', () => {
    const union = networkIngress(
      [holding('a'), holding('b', { subnets: [{ cidr: '10.89.0.0/16' }], at: 3, bridge: 'bridge1' }), holding('c', { network: 'other', policy: 'isolated' }), holding('d', { policy: 'isolated', at: 2 })],
      'net',
    );
    expect(union).toEqual({ bridge: 'bridge1', policy: 'isolated', subnets: [{ cidr: '10.88.0.0/16', gateway: '10.88.0.1' }, { cidr: '10.89.0.0/16' }] });
    expect(networkIngress([holding('a')], 'none')).toBeUndefined();
  });
});
