/**
 * jailnet's host layer (src/freebsd/ifconfig.ts, jail.ts, route.ts, sysctl.ts: the argv and
 * parsers the product uses) against the emulated tools: every operation works, and the "already
 * gone" cases it tolerates are recognized from the messages.
 */
import * as ifc from '../../src/freebsd/ifconfig';
import * as jail from '../../src/freebsd/jail';
import { listRoutes } from '../../src/freebsd/netstat';
import * as route from '../../src/freebsd/route';
import * as sysctl from '../../src/freebsd/sysctl';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

/** The test switch that points the product at the emulated host (src/util/test-switches.ts). */
const TOOL_ROOT_ENV = 'JAILNET_FREEBSD_ROOT';

const d = canRunEmulator ? describe : describe.skip;

d('src/freebsd against the emulated host', () => {
  let host: EmulatedHost;
  let saved: string | undefined;

  beforeAll(async () => {
    host = await createEmulatedHost();
    saved = process.env[TOOL_ROOT_ENV];
    process.env[TOOL_ROOT_ENV] = host.dir;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env[TOOL_ROOT_ENV];
    else process.env[TOOL_ROOT_ENV] = saved;
    await host?.destroy();
  });

  test('jails: create, find, list, remove (and remove again)', async () => {
    await jail.createVnetJail('layer1');
    expect(await jail.findJail('layer1')).toMatchObject({ name: 'layer1', vnet: 'new' });
    expect((await jail.listJails()).map((j) => j.name)).toContain('layer1');
    expect(await jail.findJail('nosuch')).toBeUndefined();
    expect((await jail.jexec('layer1', ['/bin/echo', 'hi'])).stdout).toBe('hi\n');
  });

  test('interfaces: epair, bridge, groups, names, vnet and back, destroy', async () => {
    const pair = await ifc.createEpair();
    const br = await ifc.createBridge();
    await ifc.configureInterface(br, [ifc.ifw.inet('10.66.0.1/24'), ifc.ifw.name('brlayer'), ifc.ifw.group('layertest'), ifc.ifw.up()]);
    await ifc.configureInterface(pair.a, [ifc.ifw.ether('02:00:00:00:66:0a'), ifc.ifw.name('hostlayer'), ifc.ifw.up()]);
    await ifc.configureInterface('brlayer', [ifc.ifw.addm('hostlayer')]);
    expect(await ifc.listGroupMembers('layertest')).toEqual(['brlayer']);
    expect(await ifc.listGroupMembers('nosuchgroup')).toEqual([]);
    expect(await ifc.listInterfaceNames()).toEqual(expect.arrayContaining(['lo0', 'em0', 'brlayer', 'hostlayer', pair.b]));
    const shown = await ifc.showInterface('brlayer');
    expect(shown?.members.map((m) => m.name)).toEqual(['hostlayer']);
    expect(shown?.inet).toEqual([{ address: '10.66.0.1', prefixlen: 24, broadcast: '10.66.0.255' }]);
    expect((await ifc.showInterface('hostlayer'))?.ether).toBe('02:00:00:00:66:0a');

    await ifc.moveToJail(pair.b, 'layer1');
    expect((await ifc.listInterfaceNames({ jail: 'layer1' })).sort()).toEqual(['lo0', pair.b].sort());
    await ifc.reclaimFromJail(pair.b, 'layer1');
    expect(await ifc.listInterfaceNames()).toContain(pair.b);

    expect(await ifc.destroyInterface('hostlayer')).toBe(true);
    expect(await ifc.showInterface(pair.b)).toBeUndefined();
    expect(await ifc.destroyInterface('hostlayer')).toBe(false);
    expect(await ifc.destroyInterface('brlayer')).toBe(true);
  });

  test('routes in a jail: add, exists, get, delete, delete again', async () => {
    const pair = await ifc.createEpair();
    await ifc.moveToJail(pair.b, 'layer1');
    await ifc.configureInterface(pair.b, [ifc.ifw.inet('10.67.0.2/24'), ifc.ifw.up()], { jail: 'layer1' });
    const spec = { dst: 'default', gateway: '10.67.0.1', family: 4 as const };
    expect(await route.addRoute(spec, { jail: 'layer1' })).toBe('added');
    expect(await route.addRoute(spec, { jail: 'layer1' })).toBe('exists');
    expect(await route.getRoute('default', 4, { jail: 'layer1' })).toMatchObject({ gateway: '10.67.0.1', interface: pair.b });
    expect(await route.deleteRoute(spec, { jail: 'layer1' })).toBe(true);
    expect(await route.deleteRoute(spec, { jail: 'layer1' })).toBe(false);
    expect(await route.defaultRouteInterface()).toBe('em0');
    await ifc.destroyInterface(pair.a);
  });

  test('a multipath default route on the host: the egress interface comes from netstat, not route get', async () => {
    const pair = await ifc.createEpair();
    await ifc.configureInterface(pair.a, [ifc.ifw.inet('10.68.0.1/24'), ifc.ifw.up()]);
    // The host had one default route through em0; a second gateway makes it multipath.
    expect(await route.addRoute({ dst: 'default', gateway: '10.68.0.9', family: 4 }, {})).toBe('added');
    const got = await route.getRoute('default', 4);
    expect(got?.gateway).toBeUndefined();
    expect(await route.defaultRouteInterface()).toBe('em0');
    expect((await listRoutes(4)).filter((e) => e.destination === 'default').map((e) => [e.gateway, e.netif])).toEqual([
      [host.worldAddress, 'em0'],
      ['10.68.0.9', pair.a],
    ]);
    expect(await route.deleteRoute({ dst: 'default', gateway: '10.68.0.9', family: 4 }, {})).toBe(true);
    expect(await route.getRoute('default', 4)).toMatchObject({ gateway: host.worldAddress, interface: 'em0' });
    await ifc.destroyInterface(pair.a);
  });

  test('sysctl: read and set', async () => {
    const before = await sysctl.getSysctl('net.inet.ip.forwarding');
    expect(await sysctl.setSysctl('net.inet.ip.forwarding', 1)).toEqual({ old: before, new: '1' });
    expect(await sysctl.getSysctl('net.inet.ip.forwarding')).toBe('1');
  });

  test('removing the jail', async () => {
    expect(await jail.removeJail('layer1')).toBe(true);
    expect(await jail.removeJail('layer1')).toBe(false);
  });
});
