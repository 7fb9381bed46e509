import type { EmulatedHost } from '../harness/emulated-host';
import { firstIpv4, type Attachment } from '../helpers/cni-on-host';
import type { TestDaemon } from '../helpers/jailnetd';
import { bridgeNetwork, withPluginHost, type CniRunner } from '../helpers/plugin-host';
import { hostEndName } from '../../src/link/naming';

// Options of the link plugins end to end on the emulated host, read back with ifconfig on the
// host and in the jail (`ifconfig -j` and `jexec JAIL /sbin/ifconfig`), and with real packets:
// mtu, the jail end's MAC (runtimeConfig.mac, args.cni.mac, CNI_ARGS MAC=), CNI_NETNS as a JID,
// and CHECK's failures for bridge membership and the MAC.

let host: EmulatedHost;
let ipamd: TestDaemon;
let cni: CniRunner;

withPluginHost(async (s) => {
  ({ host, ipamd, cni } = s);
}, 60_000);

const bridgeNet = (name: string, subnet: string, extra: object = {}) => bridgeNetwork(ipamd, name, subnet, extra);
const epairNet = (name: string, subnet: string, extra: object = {}) => ({ cniVersion: '1.0.0', name, type: 'epair', ipam: ipamd.ipam([[{ subnet }]]), ...extra });

/** `ifconfig IF` on the host, `ifconfig -j JAIL IF` and `jexec JAIL /sbin/ifconfig IF`: the three must agree. */
async function ifconfigEverywhere(ifname: string, jail?: string): Promise<string> {
  if (jail === undefined) return host.runOk('ifconfig', [ifname]);
  const withJ = await host.runOk('ifconfig', ['-j', jail, ifname]);
  const jexec = await host.jexec(jail, ['/sbin/ifconfig', ifname]);
  expect(jexec).toMatchObject({ code: 0, stdout: withJ });
  return withJ;
}
const mtuOf = (ifconfigOutput: string) => Number(/^\S+: flags=\S+ .*\bmtu (\d+)$/m.exec(ifconfigOutput)?.[1]);
const etherOf = (ifconfigOutput: string) => /^\s+ether (\S+)$/m.exec(ifconfigOutput)?.[1];
/** Ping with the don't-fragment bit: a packet of `size` bytes of payload gets through whole or not at all. */
const bigPing = (jail: string, address: string, size: number) => host.jexec(jail, ['/usr/bin/ping', '-c', '1', '-W', '2', '-M', 'do', '-s', String(size), address]);

async function addDel(plugin: string, conf: object, att: Attachment, body: (result: Record<string, unknown>) => Promise<void>) {
  const r = await cni(plugin, 'ADD', conf, att);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  try {
    await body(r.json as Record<string, unknown>);
  } finally {
    expect(await cni(plugin, 'DEL', { ...conf, prevResult: r.json }, att)).toMatchObject({ code: 0 });
  }
}

describe('mtu', () => {
  beforeAll(() => host.createJail('mtu1'));

  test('bridge: the bridge it creates, the host end and the jail end get the MTU; 8972-byte packets pass unfragmented, 8973 do not', async () => {
    const conf = bridgeNet('mtu', '10.101.0.0/24', { mtu: 9000 });
    const att = { containerId: 'mtu1', netns: 'mtu1' };
    await addDel('bridge', conf, att, async (result) => {
      expect(result.interfaces).toEqual([
        expect.objectContaining({ name: 'br-mtu', mtu: 9000 }),
        expect.objectContaining({ name: hostEndName('mtu1', 'eth0'), mtu: 9000 }),
        expect.objectContaining({ name: 'eth0', mtu: 9000, sandbox: 'mtu1' }),
      ]);
      expect(mtuOf(await ifconfigEverywhere('br-mtu'))).toBe(9000);
      expect(mtuOf(await ifconfigEverywhere(hostEndName('mtu1', 'eth0')))).toBe(9000);
      expect(mtuOf(await ifconfigEverywhere('eth0', 'mtu1'))).toBe(9000);
      // 8972 + 8 (ICMP) + 20 (IPv4) = 9000.
      expect((await bigPing('mtu1', '10.101.0.1', 8972)).code).toBe(0);
      expect((await bigPing('mtu1', '10.101.0.1', 8973)).code).not.toBe(0);
      expect((await cni('bridge', 'CHECK', { ...conf, prevResult: result }, att)).code).toBe(0);
    });
  });

  test('epair: both ends get the MTU; 1372-byte packets pass unfragmented, 1373 do not', async () => {
    const conf = epairNet('mtup', '10.102.0.0/24', { mtu: 1400 });
    const att = { containerId: 'mtu1', netns: 'mtu1' };
    await addDel('epair', conf, att, async (result) => {
      expect(result.interfaces).toEqual([expect.objectContaining({ name: hostEndName('mtu1', 'eth0'), mtu: 1400 }), expect.objectContaining({ name: 'eth0', mtu: 1400, sandbox: 'mtu1' })]);
      expect(mtuOf(await ifconfigEverywhere(hostEndName('mtu1', 'eth0')))).toBe(1400);
      expect(mtuOf(await ifconfigEverywhere('eth0', 'mtu1'))).toBe(1400);
      expect((await bigPing('mtu1', '10.102.0.1', 1372)).code).toBe(0);
      expect((await bigPing('mtu1', '10.102.0.1', 1373)).code).not.toBe(0);
    });
  });
});

describe("the jail end's MAC", () => {
  let conf: ReturnType<typeof bridgeNet>;
  beforeAll(() => (conf = bridgeNet('mac', '10.103.0.0/24')));
  beforeAll(() => host.createJail('mac1'));

  /** The MAC on the jail's eth0, in the result, and in the host's neighbour entry for the jail (real frames). */
  async function expectMac(result: Record<string, unknown>, mac: string) {
    expect((result.interfaces as { mac?: string }[])[2]?.mac).toBe(mac);
    expect(etherOf(await ifconfigEverywhere('eth0', 'mac1'))).toBe(mac);
    const ip = firstIpv4(result);
    expect((await host.hostExec(['/usr/bin/ping', '-c', '1', '-W', '2', ip])).code).toBe(0);
    expect((await host.hostExec(['/usr/sbin/ip', 'neigh', 'show', ip])).stdout).toContain(`lladdr ${mac}`);
    expect((await cni('bridge', 'CHECK', { ...conf, prevResult: result }, { containerId: 'mac1', netns: 'mac1' })).code).toBe(0);
  }

  test('CNI_ARGS MAC=', () => addDel('bridge', conf, { containerId: 'mac1', netns: 'mac1', args: 'MAC=02:00:5e:10:00:01' }, (r) => expectMac(r, '02:00:5e:10:00:01')));

  test('args.cni.mac (upper case is accepted)', () =>
    addDel('bridge', { ...conf, args: { cni: { mac: '02:00:5E:10:00:02' } } }, { containerId: 'mac1', netns: 'mac1' }, (r) => expectMac(r, '02:00:5e:10:00:02')));

  test('runtimeConfig.mac (capability mac) wins over args.cni.mac and CNI_ARGS', () =>
    addDel(
      'bridge',
      { ...conf, runtimeConfig: { mac: '02:00:5e:10:00:03' }, args: { cni: { mac: '02:00:5e:10:00:04' } } },
      { containerId: 'mac1', netns: 'mac1', args: 'MAC=02:00:5e:10:00:05' },
      (r) => expectMac(r, '02:00:5e:10:00:03'),
    ));

  test('epair: CNI_ARGS MAC=', () =>
    addDel('epair', epairNet('macp', '10.104.0.0/24'), { containerId: 'mac1', netns: 'mac1', args: 'MAC=02:00:5e:10:00:06' }, async (r) => {
      expect((r.interfaces as { mac?: string }[])[1]?.mac).toBe('02:00:5e:10:00:06');
      expect(etherOf(await ifconfigEverywhere('eth0', 'mac1'))).toBe('02:00:5e:10:00:06');
    }));
});

describe('CNI_NETNS as a JID', () => {
  let jid: string;
  beforeAll(async () => {
    await host.createJail('byjid');
    jid = (await host.runOk('jls', ['-j', 'byjid', 'jid'])).trim();
    expect(jid).toMatch(/^\d+$/);
  });

  test.each(['bridge', 'epair'])('%s: ADD, CHECK and DEL name the jail by its JID', async (plugin) => {
    const conf = plugin === 'bridge' ? bridgeNet('jid', '10.105.0.0/24') : epairNet('jidp', '10.106.0.0/24');
    const att = { containerId: 'byjid', netns: jid };
    const hostEnd = hostEndName('byjid', 'eth0');
    const r = await cni(plugin, 'ADD', conf, att);
    expect(r.code).toBe(0);
    const interfaces = r.json?.interfaces as { name: string; sandbox?: string }[];
    expect(interfaces[interfaces.length - 1]).toMatchObject({ name: 'eth0', sandbox: jid });
    // The interface is in the jail of that JID, and works.
    expect((await host.interfaces()).jails.byjid?.map((i) => i.name)).toEqual(['eth0', 'lo0']);
    expect(await host.runOk('ifconfig', [hostEnd])).toContain(`jail=${jid} `);
    const gateway = plugin === 'bridge' ? '10.105.0.1' : '10.106.0.1';
    expect((await host.jexec('byjid', ['/usr/bin/ping', '-c', '1', '-W', '2', gateway])).code).toBe(0);
    expect(await cni(plugin, 'CHECK', { ...conf, prevResult: r.json }, att)).toMatchObject({ code: 0, stdout: '' });
    expect(await cni(plugin, 'DEL', { ...conf, prevResult: r.json }, att)).toMatchObject({ code: 0, stdout: '' });
    expect((await host.interfaces()).host.map((i) => i.name)).not.toContain(hostEnd);
    expect((await host.interfaces()).jails.byjid?.map((i) => i.name)).toEqual(['lo0']);
    expect(await ipamd.leases(conf.name)).toEqual([]);
  });
});

describe('CHECK names what is missing', () => {
  let conf: ReturnType<typeof bridgeNet>;
  const att = { containerId: 'chk1', netns: 'chk1' };
  const hostEnd = hostEndName('chk1', 'eth0');
  let result: Record<string, unknown>;

  beforeAll(async () => {
    conf = bridgeNet('chk', '10.107.0.0/24');
    await host.createJail('chk1');
    const r = await cni('bridge', 'ADD', conf, att);
    expect(r.code).toBe(0);
    result = r.json as Record<string, unknown>;
    expect(await cni('bridge', 'CHECK', { ...conf, prevResult: result }, att)).toMatchObject({ code: 0 });
  });

  test('the host end taken off the bridge: code 103 naming the interface and the bridge', async () => {
    await host.runOk('ifconfig', ['br-chk', 'deletem', hostEnd]);
    try {
      const r = await cni('bridge', 'CHECK', { ...conf, prevResult: result }, att);
      expect(r.json).toMatchObject({ code: 103, msg: `host interface ${hostEnd} is not a member of bridge br-chk` });
    } finally {
      await host.runOk('ifconfig', ['br-chk', 'addm', hostEnd]);
    }
    expect(await cni('bridge', 'CHECK', { ...conf, prevResult: result }, att)).toMatchObject({ code: 0 });
  });

  test("another MAC on the jail's interface: code 103 naming both MACs", async () => {
    const mac = (result.interfaces as { mac: string }[])[2]?.mac as string;
    await host.runOk('ifconfig', ['-j', 'chk1', 'eth0', 'ether', '02:00:5e:99:99:99']);
    try {
      const r = await cni('bridge', 'CHECK', { ...conf, prevResult: result }, att);
      expect(r.json).toMatchObject({ code: 103, msg: `interface eth0 in jail chk1 has MAC 02:00:5e:99:99:99, not ${mac}` });
    } finally {
      await host.runOk('ifconfig', ['-j', 'chk1', 'eth0', 'ether', mac]);
    }
    expect(await cni('bridge', 'CHECK', { ...conf, prevResult: result }, att)).toMatchObject({ code: 0 });
  });
});
