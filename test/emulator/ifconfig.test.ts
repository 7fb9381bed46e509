/** ifconfig on the emulated host: FreeBSD output, semantics and rejections. */
import { parseIfconfig, parseInterfaceList, parseGroupMembers } from '../../src/freebsd/parse/ifconfig';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

d('emulated ifconfig', () => {
  let host: EmulatedHost;
  beforeAll(async () => {
    host = await createEmulatedHost();
    await host.createJail('ifj');
  });
  afterAll(async () => {
    await host?.destroy();
  });

  const ok = (args: string[]) => host.runOk('ifconfig', args);

  test('epair create prints epairNa, numbers from the lowest free unit, and the unit survives a rename', async () => {
    const a0 = (await ok(['epair', 'create'])).trim();
    const a1 = (await ok(['epair', 'create'])).trim();
    const n0 = Number(/^epair(\d+)a$/.exec(a0)?.[1]);
    expect(a1).toBe(`epair${n0 + 1}a`);
    // Renamed ends keep their unit taken.
    expect(await ok([a0, 'name', 'renamed0'])).toBe('renamed0\n');
    expect((await ok(['epair', 'create'])).trim()).toBe(`epair${n0 + 2}a`);
    // Destroying frees the unit: the next create reuses it.
    await ok(['renamed0', 'destroy']);
    expect(await host.run('ifconfig', [`epair${n0}b`])).toMatchObject({ code: 1, stderr: `ifconfig: interface epair${n0}b does not exist\n` });
    expect((await ok(['epair', 'create'])).trim()).toBe(a0);
    for (const a of [a0, a1, `epair${n0 + 2}a`]) await ok([a, 'destroy']);
  });

  test('20 concurrent creates get 20 distinct units', async () => {
    const names = await Promise.all(Array.from({ length: 20 }, () => ok(['epair', 'create'])));
    const set = new Set(names.map((n) => n.trim()));
    expect(set.size).toBe(20);
    for (const n of set) expect(n).toMatch(/^epair\d+a$/);
    const list = parseInterfaceList(await ok(['-l']));
    for (const n of set) {
      expect(list).toContain(n);
      expect(list).toContain(n.replace(/a$/, 'b'));
    }
    await Promise.all([...set].map((n) => ok([n, 'destroy'])));
    expect(parseInterfaceList(await ok(['-l'])).filter((n) => n.startsWith('epair'))).toEqual([]);
  });

  test('a single command costs one node start and a few ip calls', async () => {
    // The trace has one entry per emulated tool process (one node start) and lists the helper
    // processes that invocation started: counted, not timed, so the load of the machine does
    // not matter.
    const one = async (args: string[]) => {
      const mark = host.traceMark();
      const out = await ok(args);
      const entries = host.traceSince(mark);
      expect(entries.map((e) => ({ tool: e.tool, argv: e.argv }))).toEqual([{ tool: 'ifconfig', argv: args }]);
      const entry = entries[0]!;
      return { out, helpers: entry.helpers };
    };
    const create = await one(['epair', 'create']);
    const a = create.out.trim();
    const up = await one([a, 'up']);
    const show = await one([a]);
    // Only ip, and few of them: reading the links, then one batch of changes.
    for (const r of [create, up, show]) expect(new Set(r.helpers)).toEqual(new Set(['ip']));
    expect(create.helpers.length).toBeLessThanOrEqual(3);
    expect(up.helpers.length).toBeLessThanOrEqual(2);
    expect(show.helpers).toEqual(['ip']);
    await ok([a, 'destroy']);
  });

  test('20 concurrent bridge creates get 20 distinct units', async () => {
    const names = (await Promise.all(Array.from({ length: 20 }, () => ok(['bridge', 'create'])))).map((n) => n.trim());
    try {
      expect(new Set(names).size).toBe(20);
      for (const n of names) expect(n).toMatch(/^bridge\d+$/);
      const list = parseInterfaceList(await ok(['-l']));
      for (const n of names) expect(list).toContain(n);
      for (const info of parseIfconfig(await ok([]))) if (names.includes(info.name)) expect(info.groups).toEqual(['bridge']);
    } finally {
      await Promise.all(names.filter((n) => /^bridge\d+$/.test(n)).map((n) => host.run('ifconfig', [n, 'destroy'])));
    }
    expect(parseInterfaceList(await ok(['-l'])).filter((n) => n.startsWith('bridge'))).toEqual([]);
  });

  test('destroying either end destroys both, also when the other end is in a jail', async () => {
    const a = (await ok(['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    await ok([b, 'vnet', 'ifj']);
    expect(parseInterfaceList(await ok(['-j', 'ifj', '-l']))).toContain(b);
    await ok([a, 'destroy']);
    expect(parseInterfaceList(await ok(['-j', 'ifj', '-l']))).not.toContain(b);
    // And from the b side, inside the jail.
    const a2 = (await ok(['epair', 'create'])).trim();
    const b2 = a2.replace(/a$/, 'b');
    await ok([b2, 'vnet', 'ifj']);
    await ok(['-j', 'ifj', b2, 'destroy']);
    expect(parseInterfaceList(await ok(['-l']))).not.toContain(a2);
  });

  test('status output is FreeBSD 14 layout and src/freebsd/parse/ifconfig.ts reads it', async () => {
    const a = (await ok(['epair', 'create'])).trim();
    await ok([a, 'inet', '10.20.0.1/24', 'description', 'jail web net jailnet if eth0', 'group', 'jailnet', 'mtu', '1400']);
    await ok([a, 'inet', '10.20.1.1/16', 'alias']);
    await ok([a, 'inet6', '2001:db8:20::1/64', 'alias']);
    const text = await ok([a]);
    const lines = text.split('\n');
    // 14.x: an epair sets no bit 0x20 (test/fixtures/freebsd/ifconfig-14-epair-jail-end.txt).
    expect(lines[0]).toBe(`${a}: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1400`);
    expect(lines).toContain('\tdescription: jail web net jailnet if eth0');
    expect(lines).toContain('\toptions=8<VLAN_MTU>');
    expect(lines).toContain('\tinet 10.20.0.1 netmask 0xffffff00 broadcast 10.20.0.255');
    expect(lines).toContain('\tinet 10.20.1.1 netmask 0xffff0000 broadcast 10.20.255.255');
    expect(lines).toContain('\tinet6 2001:db8:20::1 prefixlen 64');
    expect(text).toMatch(new RegExp(`\\tinet6 fe80::[0-9a-f:]+%${a} prefixlen 64 scopeid 0x[0-9a-f]+\\n`));
    expect(lines).toContain('\tgroups: epair jailnet');
    expect(lines).toContain('\tmedia: Ethernet 10Gbase-T (10Gbase-T <full-duplex>)');
    expect(lines).toContain('\tstatus: active');
    expect(lines).toContain('\tnd6 options=21<PERFORMNUD,AUTO_LINKLOCAL>');
    expect(lines[3]).toMatch(/^\tether 02:([0-9a-f]{2}:){4}0a$/);

    const [info] = parseIfconfig(text);
    expect(info).toMatchObject({ name: a, mtu: 1400, description: 'jail web net jailnet if eth0', groups: ['epair', 'jailnet'], status: 'active' });
    expect(info?.flags).toEqual(['UP', 'BROADCAST', 'RUNNING', 'SIMPLEX', 'MULTICAST', 'LOWER_UP']);
    expect(info?.inet).toEqual([
      { address: '10.20.0.1', prefixlen: 24, broadcast: '10.20.0.255' },
      { address: '10.20.1.1', prefixlen: 16, broadcast: '10.20.255.255' },
    ]);
    expect(info?.inet6.map((x) => x.address)).toContain('2001:db8:20::1');

    // -f inet:cidr, the whole listing, -g and the bridge block.
    expect(await ok(['-f', 'inet:cidr', a])).toMatch(/\tinet 10\.20\.0\.1\/24 broadcast 10\.20\.0\.255\n/);
    const br = (await ok(['bridge', 'create'])).trim();
    await ok([br, 'addm', a, 'up']);
    const all = parseIfconfig(await ok([]));
    const bridge = all.find((x) => x.name === br);
    expect(bridge?.members).toEqual([{ name: a, flags: ['LEARNING', 'DISCOVER', 'AUTOEDGE', 'AUTOPTP'] }]);
    expect(bridge?.groups).toEqual(['bridge']);
    expect(all.map((x) => x.name)).toEqual(expect.arrayContaining(['lo0', 'em0', a, br]));
    expect(parseGroupMembers(await ok(['-g', 'jailnet']))).toEqual([a]);
    expect(await ok(['-g', 'nosuchgroup'])).toBe('');
    await ok([br, 'private', a]);
    expect(await ok([br])).toMatch(/member: epair\d+a flags=943<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP,PRIVATE>/);
    await ok([br, 'deletem', a]);
    expect(parseIfconfig(await ok([br]))[0]?.members).toEqual([]);
    await ok([br, 'destroy']);
    await ok([a, 'destroy']);
  });

  test('inet replaces the first IPv4 address; alias adds; -alias removes; -description and -group', async () => {
    const a = (await ok(['epair', 'create'])).trim();
    await ok([a, 'inet', '10.30.0.1/24']);
    await ok([a, 'inet', '10.30.0.2/24', 'alias']);
    await ok([a, 'inet', '10.31.0.1/24']);
    let info = parseIfconfig(await ok([a]))[0];
    expect(info?.inet.map((x) => x.address).sort()).toEqual(['10.30.0.2', '10.31.0.1']);
    await ok([a, 'inet', '10.30.0.2', '-alias']);
    info = parseIfconfig(await ok([a]))[0];
    expect(info?.inet.map((x) => x.address)).toEqual(['10.31.0.1']);
    expect(await host.run('ifconfig', [a, 'inet', '10.99.0.9', '-alias'])).toMatchObject({ code: 1, stderr: "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n" });
    await ok([a, 'description', 'x', 'group', 'g_one']);
    await ok([a, '-description', '-group', 'g_one']);
    info = parseIfconfig(await ok([a]))[0];
    expect(info?.description).toBeUndefined();
    expect(info?.groups).toEqual(['epair']);
    // ether, promisc, -txcsum are accepted.
    await ok([a, 'ether', '02:00:00:00:30:01', '-txcsum', '-txcsum6', 'promisc']);
    info = parseIfconfig(await ok([a]))[0];
    expect(info?.ether).toBe('02:00:00:00:30:01');
    expect(info?.flags).toContain('PPROMISC');
    await ok([a, 'destroy']);
  });

  test('create combined with name prints nothing; name alone prints the new name', async () => {
    expect(await host.run('ifconfig', ['bridge', 'create', 'name', 'brnamed', 'up'])).toMatchObject({ code: 0, stdout: '' });
    expect(parseIfconfig(await ok(['brnamed']))[0]?.flags).toContain('UP');
    expect(await ok(['brnamed', 'name', 'brnamed2'])).toBe('brnamed2\n');
    await ok(['brnamed2', 'destroy']);
    expect(await host.run('ifconfig', ['epair', 'create', 'name', 'epnamed'])).toMatchObject({ code: 0, stdout: '' });
    await ok(['epnamed', 'destroy']);
  });

  test('rejections use FreeBSD messages and exit status 1', async () => {
    const a = (await ok(['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    const cases: [string[], string][] = [
      [['nosuch0', 'up'], 'ifconfig: interface nosuch0 does not exist'],
      [['nosuch0'], 'ifconfig: interface nosuch0 does not exist'],
      [[a, 'name', 'abcdefghijklmnop'], 'ifconfig: ioctl SIOCSIFNAME (set name): File name too long'],
      [[a, 'name', b], 'ifconfig: ioctl SIOCSIFNAME (set name): File exists'],
      [['abcdefghijklmnop0', 'create'], 'ifconfig: abcdefghijklmnop0: cloning name too long'],
      [[a, 'create'], `ifconfig: interface ${a} already exists`],
      [['em0', 'destroy'], 'ifconfig: SIOCIFDESTROY: Invalid argument'],
      [[a, 'group', 'web1'], 'ifconfig: setifgroup: group names may not end in a digit'],
      [[a, 'inet', '10.1.2.300/24'], 'ifconfig: 10.1.2.300: bad value'],
      [[a, 'bogus'], 'ifconfig: bogus: bad value'],
      [[a, 'vnet', 'nojail'], 'ifconfig: jail "nojail" not found'],
      [[a, 'mtu', '70000'], 'ifconfig: ioctl SIOCSIFMTU (set mtu): Invalid argument'],
      [[a, 'ether', 'zz:00'], 'ifconfig: malformed link-level address'],
      // ether is an address family, read only after the interface name (af_link.c, ifconfig.c).
      [[a, 'up', 'ether', '02:00:00:00:30:09'], 'ifconfig: ether: bad value'],
      // sbin/ifconfig/ifconfig.c setifvnet: a JID goes to the ioctl, which finds no prison (ENXIO).
      [[a, 'vnet', '4242'], 'ifconfig: SIOCSIFVNET: Device not configured'],
      // sbin/ifconfig/ifconfig.c, -j: Perror("jail not found") when jail_getid fails (ENOENT), and
      // Perror("cannot attach to jail") for a JID, which libjail returns unchecked (EINVAL).
      [['-j', 'nojail', '-l'], 'ifconfig: jail not found: No such file or directory'],
      [['-j', 'nojail', 'lo0', 'up'], 'ifconfig: jail not found: No such file or directory'],
      [['-j', '4242', 'lo0'], 'ifconfig: cannot attach to jail: Invalid argument'],
    ];
    for (const [args, msg] of cases) {
      const r = await host.run('ifconfig', args);
      expect({ args, code: r.code, stderr: r.stderr.trim() }).toEqual({ args, code: 1, stderr: msg });
    }
    const usage = await host.run('ifconfig', ['-Z']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/^ifconfig: illegal option -- Z\nusage: ifconfig/);
    // The same address on another interface is accepted (FreeBSD shares the routes); addm of a
    // missing or busy member is not.
    await ok([a, 'inet', '10.40.0.1/24']);
    const br = (await ok(['bridge', 'create'])).trim();
    await ok([br, 'inet', '10.40.0.1/24']);
    expect(await host.run('ifconfig', [br, 'addm', 'nosuch0'])).toMatchObject({ code: 1, stderr: 'ifconfig: BRDGADD nosuch0: No such file or directory\n' });
    await ok([br, 'addm', a]);
    expect(await host.run('ifconfig', [br, 'addm', a])).toMatchObject({ code: 1, stderr: `ifconfig: BRDGADD ${a}: File exists\n` });
    expect(await host.run('ifconfig', [br, 'deletem', b])).toMatchObject({ code: 1, stderr: `ifconfig: BRDGDEL ${b}: No such file or directory\n` });
    await ok([br, 'destroy']);
    await ok([a, 'destroy']);
  });

  test('vnet moves only into vnet jails; -vnet takes the interface back; addresses only in the caller\'s vnet', async () => {
    await host.createJail('ifnv', { vnet: false });
    const a = (await ok(['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    expect(await host.run('ifconfig', [b, 'vnet', 'ifnv'])).toMatchObject({ code: 1, stderr: 'ifconfig: SIOCSIFVNET: File exists\n' });
    await ok([b, 'vnet', 'ifj']);
    // Not in the host's vnet any more, and not in the jail's for a host-side command.
    expect(await host.run('ifconfig', [b, 'inet', '10.50.0.2/24'])).toMatchObject({ code: 1, stderr: `ifconfig: interface ${b} does not exist\n` });
    expect(await host.run('ifconfig', ['-j', 'ifj', a, 'inet', '10.50.0.1/24'])).toMatchObject({ code: 1, stderr: `ifconfig: interface ${a} does not exist\n` });
    // A name taken in the jail.
    const a2 = (await ok(['epair', 'create'])).trim();
    await ok([a2, 'name', b]).catch(() => undefined);
    expect(await host.run('ifconfig', [b, 'vnet', 'ifj'])).toMatchObject({ code: 1, stderr: 'ifconfig: SIOCSIFVNET: File exists\n' });
    await ok([b, 'destroy']);
    await ok(['-j', 'ifj', b, 'inet', '10.50.0.2/24']);
    expect(parseIfconfig(await ok(['-j', 'ifj', b]))[0]?.inet[0]?.address).toBe('10.50.0.2');
    await ok([b, '-vnet', 'ifj']);
    expect(parseInterfaceList(await ok(['-l']))).toContain(b);
    expect(await host.run('ifconfig', [b, '-vnet', 'ifj'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^ifconfig: SIOCSIFRVNET\(\d+, epair\d+b\): Device not configured\n$/) });
    // A non-vnet jail sees the host's interfaces and may not change them.
    expect(parseInterfaceList(await ok(['-j', 'ifnv', '-l']))).toContain('em0');
    expect((await host.run('ifconfig', ['-j', 'ifnv', a, 'up'])).code).toBe(1);
    await ok([a, 'destroy']);
    await host.removeJail('ifnv');
  });
});
