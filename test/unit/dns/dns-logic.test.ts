import { gatherNames, InvalidDnsName, nameProblem, networkDomain } from '../../../src/dns/names';
import { parseResolvConf, renderJailResolvConf } from '../../../src/dns/resolv-conf';
import { NameIndex, reverseAddress } from '../../../src/dns/zone';
import { isStateRecord, leaseToRecord, recordToLease, type StateRecord } from '../../../src/ipam/records';
import { IpamState } from '../../../src/ipam/state';
import { renderDnsRules } from '../../../src/pf/dns-rules';
import { dnsAnchor } from '../../../src/pf/anchors';
import { searchCandidates } from '../../../daemon/dns/forwarder';

// The pure parts of the DNS server: names, resolv.conf, the index and its answers, the journal
// records that carry names, the pf rules.

describe('names', () => {
  test.each(['web', 'db-1', 'a.b.c', '0day', 'X'.repeat(63), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`])('%p is a host name', (n) => {
    expect(nameProblem(n)).toBeUndefined();
  });
  test.each(['', '-web', 'web-', 'a..b', 'a_b', 'web.', 'x'.repeat(64), 'caf\u00e9', 'a b', `${'a.'.repeat(127)}a`])('%p is not', (n) => {
    expect(nameProblem(n)).toBeDefined();
  });
  test('priority: aliases, then K8S_POD_NAME, then the jail; lower case, each once', () => {
    expect(gatherNames({ aliases: ['WWW', 'api'], podName: 'pod-1', jail: 'web', network: 'n' }).names).toEqual(['www', 'api', 'pod-1', 'web']);
    expect(gatherNames({ aliases: ['web'], jail: 'Web', network: 'n' }).names).toEqual(['web']);
    // podman's form: a map of network name to list.
    expect(gatherNames({ aliases: { n: ['a'], other: ['b'] }, jail: 'web', network: 'n' }).names).toEqual(['a', 'web']);
    expect(gatherNames({ aliases: { other: ['b'] }, jail: 'web', network: 'n' }).names).toEqual(['web']);
  });
  test("a jail name that is no host name is left out; a given one is refused, naming where it came from", () => {
    const id = 'f'.repeat(64);
    expect(gatherNames({ jail: id, network: 'n' })).toEqual({ names: [], skippedJail: id });
    expect(gatherNames({ jail: 'my_jail', aliases: ['ok'], network: 'n' })).toEqual({ names: ['ok'], skippedJail: 'my_jail' });
    expect(() => gatherNames({ aliases: ['ok', 'bad_name'], jail: 'web', network: 'n' })).toThrow('runtimeConfig.aliases[1]: "bad_name" is not a valid DNS name');
    expect(() => gatherNames({ podName: '-x', jail: 'web', network: 'n' })).toThrow(InvalidDnsName);
    expect(() => gatherNames({ aliases: 'web', jail: 'web', network: 'n' })).toThrow('neither a list');
    expect(() => gatherNames({ aliases: Array.from({ length: 40 }, (_, i) => `n${i}`), jail: 'web', network: 'n' })).toThrow('more than 32 names');
  });
  test('the domain: dns.domain, else the network name when it is a host name', () => {
    expect(networkDomain('front', undefined)).toBe('front');
    expect(networkDomain('front', 'Corp.Example.')).toBe('corp.example');
    expect(networkDomain('my_net', undefined)).toBeUndefined();
  });
});

describe('resolv.conf', () => {
  test("the host's, as FreeBSD libc reads it", () => {
    const c = parseResolvConf('# c\nsearch a.test b.test\nnameserver 192.0.2.1\nnameserver fe80::1%em0 ; x\nnameserver bogus\nnameserver 192.0.2.2\nnameserver 192.0.2.3\noptions ndots:2 timeout:40 attempts:9 rotate\n');
    expect(c).toEqual({ nameservers: ['192.0.2.1', 'fe80::1%em0', '192.0.2.2'], search: ['a.test', 'b.test'], ndots: 2, timeout: 30, attempts: 5 });
    // domain and search replace each other: the last one counts.
    expect(parseResolvConf('search a b\ndomain c\n').search).toEqual(['c']);
    expect(parseResolvConf('').nameservers).toEqual([]);
  });
  test("a jail's", () => {
    expect(renderJailResolvConf({ nameservers: ['10.88.0.1', 'fd00::1'], domain: 'front', search: ['front', 'back'], options: ['timeout:2', 'attempts:5'] })).toBe(
      '# written by jailnet (docs/dns.md)\nsearch front back\nnameserver 10.88.0.1\nnameserver fd00::1\noptions timeout:2 attempts:5\n',
    );
  });
  test("the host's search list, as res_nsearch applies it", () => {
    const conf = { search: ['corp.test', 'lab.test'], ndots: 1 };
    expect(searchCandidates('intranet', conf)).toEqual(['intranet.corp.test', 'intranet.lab.test', 'intranet']);
    expect(searchCandidates('www.example.test', conf)).toEqual(['www.example.test', 'www.example.test.corp.test', 'www.example.test.lab.test']);
    expect(searchCandidates('1.0.88.10.in-addr.arpa', conf)).toEqual(['1.0.88.10.in-addr.arpa']);
    expect(searchCandidates('intranet', { search: [], ndots: 1 })).toEqual(['intranet']);
  });
});

describe('leases with names in the journal', () => {
  const lease = { network: 'front', containerID: 'web', ifname: 'eth0', jail: undefined, ips: [{ address: '10.88.0.2', prefix: 24, gateway: '10.88.0.1', static: false }], createdAt: 5 };
  test('a journal written before names (seven elements) reads as leases without DNS', () => {
    const old: unknown = ['L', 'front', 'web', 'eth0', 0, [['10.88.0.2', 24, '10.88.0.1', 0]], 5];
    expect(isStateRecord(old)).toBe(true);
    expect(recordToLease(old as never)).toEqual({ ...lease, names: undefined });
    expect(leaseToRecord({ ...lease })).toEqual(old);
  });
  test('names round-trip; malformed names are not a record', () => {
    const rec = leaseToRecord({ ...lease, names: ['web', 'www'] });
    expect(rec).toEqual(['L', 'front', 'web', 'eth0', 0, [['10.88.0.2', 24, '10.88.0.1', 0]], 5, ['web', 'www']]);
    expect(recordToLease(JSON.parse(JSON.stringify(rec)) as never).names).toEqual(['web', 'www']);
    expect(isStateRecord([...rec.slice(0, 7), [1]])).toBe(false);
    expect(isStateRecord([...rec.slice(0, 7), 'web'])).toBe(false);
  });
  test("the network's domain is in its net record and snapshots", () => {
    const state = new IpamState();
    const ranges = [[{ subnet: '10.88.0.0/24' }]];
    expect(state.ensureNetwork('front', ranges, 1, 'corp').records).toHaveLength(1);
    expect(state.ensureNetwork('front', ranges, 2, 'corp').records).toHaveLength(0);
    expect(state.ensureNetwork('front', ranges, 3).records).toHaveLength(0);
    const snap = state.snapshotRecords();
    const replay = new IpamState();
    for (const r of JSON.parse(JSON.stringify(snap)) as StateRecord[]) replay.apply(r);
    expect(replay.networks.get('front')?.domain).toBe('corp');
  });
});

describe('the name index and its answers', () => {
  const RANGES = (subnet: string) => [[{ subnet }]];
  let state: IpamState;
  let index: NameIndex;
  const changes: string[] = [];
  const add = (network: string, containerID: string, names: string[] | undefined) => {
    const req = { network, containerID, ifname: 'eth0', ranges: RANGES(network === 'front' ? '10.88.0.0/24' : '10.89.0.0/24'), ...(names ? { dns: { names } } : {}) };
    state.ensureNetwork(network, req.ranges, 0, names ? undefined : undefined);
    return state.allocate(req, 0).value.lease;
  };
  beforeEach(() => {
    state = new IpamState();
    index = new NameIndex(state);
    state.observer = index;
    changes.length = 0;
    index.onGatewaysChanged = (n) => changes.push(n);
  });

  test('A and AAAA of every holder, PTR of the first name, NXDOMAIN under the domain, forward otherwise', () => {
    const web = add('front', 'web', ['web', 'shared']);
    const db = add('front', 'db', ['database', 'db', 'shared']);
    add('front', 'plain', undefined);
    const dbIp = db.ips[0]?.address as string;
    const webIp = web.ips[0]?.address as string;
    expect(index.answer(['front'], 'db.front', 'A')).toEqual({ kind: 'answer', rcode: 'NOERROR', answers: [{ type: 'A', name: 'db.front', ttl: 5, class: 'IN', data: dbIp }] });
    expect(index.answer(['front'], 'Shared', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [{ data: webIp }, { data: dbIp }].sort((a, b) => a.data.localeCompare(b.data, 'en', { numeric: true })) });
    expect(index.answer(['front'], 'db', 'AAAA')).toEqual({ kind: 'answer', rcode: 'NOERROR', answers: [] });
    expect(index.answer(['front'], 'db', 'MX')).toEqual({ kind: 'answer', rcode: 'NOERROR', answers: [] });
    expect(index.answer(['front'], 'front', 'A')).toEqual({ kind: 'answer', rcode: 'NOERROR', answers: [] });
    expect(index.answer(['front'], 'plain.front', 'A')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(index.answer(['front'], 'www.example.test', 'A')).toEqual({ kind: 'forward' });
    expect(index.answer(['front'], 'nothere', 'A')).toEqual({ kind: 'forward' });
    expect(index.answer(['front'], dbIp.split('.').reverse().join('.') + '.in-addr.arpa', 'PTR')).toMatchObject({ answers: [{ type: 'PTR', data: 'database.front' }] });
    expect(index.answer(['front'], '250.0.88.10.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(index.answer(['front'], '1.2.0.192.in-addr.arpa', 'PTR')).toEqual({ kind: 'forward' });
  });

  test("another network's names: NXDOMAIN for its jails, unless the jail is on both", () => {
    add('front', 'db', ['db']);
    add('back', 'other', ['other']);
    expect(index.answer(['back'], 'db.front', 'A')).toMatchObject({ rcode: 'NXDOMAIN' });
    expect(index.answer(['back'], 'db', 'A')).toEqual({ kind: 'forward' });
    const dbIp = state.lease('front', 'db', 'eth0')?.ips[0]?.address as string;
    expect(index.answer(['back'], dbIp.split('.').reverse().join('.') + '.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NXDOMAIN' });
    // A jail on both networks gets both.
    const both = add('back', 'db', ['db']);
    expect(index.networksOfClient('back', both)).toEqual(['back', 'front']);
    expect(index.answer(['back', 'front'], 'db.front', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [{ data: dbIp }] });
  });

  test('gateways are counted: a change is told when the first attachment comes and the last goes', () => {
    add('front', 'a', ['a']);
    add('front', 'b', ['b']);
    expect(changes).toEqual(['front']);
    expect(index.gateways('front')).toEqual(['10.88.0.1']);
    state.apply({ t: 'unlease', k: 'front/a/eth0' });
    expect(changes).toEqual(['front']);
    expect(index.answer(['front'], 'a', 'A')).toEqual({ kind: 'forward' });
    state.apply({ t: 'unlease', k: 'front/b/eth0' });
    expect(changes).toEqual(['front', 'front']);
    expect(index.gateways('front')).toEqual([]);
    expect(index.networks()).toEqual([]);
  });

  test('reverse names', () => {
    expect(reverseAddress('4.3.2.1.in-addr.arpa')).toBe('1.2.3.4');
    expect(reverseAddress('3.2.1.in-addr.arpa')).toBeUndefined();
    expect(reverseAddress('256.3.2.1.in-addr.arpa')).toBeUndefined();
    expect(reverseAddress(`${'1.0.0.0.'.repeat(1)}${'0.'.repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa`)).toBe('2001:db8::1');
  });
});

describe('pf rules of a network\'s DNS', () => {
  test('passes to each gateway from its family\'s subnets, udp without state, port-unreachables dropped', () => {
    expect(renderDnsRules({ gateways: ['10.88.0.1', 'fd00:88::1'], subnets: ['10.88.0.0/24', 'fd00:88::/64'] })).toBe(
      [
        'pass in quick on { jailnet jailnet_host } inet proto udp from 10.88.0.0/24 to 10.88.0.1 port 53 no state',
        'pass out quick on { jailnet jailnet_host } inet proto udp from 10.88.0.1 port 53 to 10.88.0.0/24 no state',
        'pass in quick on { jailnet jailnet_host } inet proto tcp from 10.88.0.0/24 to 10.88.0.1 port 53 flags S/SA keep state',
        'block drop out quick on { jailnet jailnet_host } inet proto icmp from 10.88.0.1 to 10.88.0.0/24 icmp-type unreach code port-unr',
        'pass in quick on { jailnet jailnet_host } inet6 proto udp from fd00:88::/64 to fd00:88::1 port 53 no state',
        'pass out quick on { jailnet jailnet_host } inet6 proto udp from fd00:88::1 port 53 to fd00:88::/64 no state',
        'pass in quick on { jailnet jailnet_host } inet6 proto tcp from fd00:88::/64 to fd00:88::1 port 53 flags S/SA keep state',
        'block drop out quick on { jailnet jailnet_host } inet6 proto icmp6 from fd00:88::1 to fd00:88::/64 icmp6-type unreach code port-unr',
        '',
      ].join('\n'),
    );
  });
  test('the anchor sorts before the others under jailnet/', () => {
    const names = [dnsAnchor('zeta'), 'jailnet/nat-alpha', 'jailnet/pm-alpha-0123456789a', 'jailnet/fw-alpha', 'jailnet/Isolation', 'jailnet/9x'];
    expect([...names].sort()[0]).toBe('jailnet/0dns-zeta');
  });
});
