/** jail, jls and jexec on the emulated host. */
import { parseJlsJidNameVnet } from '../../src/freebsd/parse/jls';
import { parseInterfaceList, parseIfconfig } from '../../src/freebsd/parse/ifconfig';
import type { ChildProcess } from 'node:child_process';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

/**
 * How `child` ended (its signal, or its exit code), waiting at most `ms`: a process that is
 * never killed fails the test with `what` instead of hanging until jest's timeout.
 */
function exitWithin(child: ChildProcess, ms: number, what: string): Promise<NodeJS.Signals | number> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? (child.exitCode as number));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: pid ${child.pid} still running after ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ?? (code as number));
    });
  });
}

d('emulated jail, jls and jexec', () => {
  let host: EmulatedHost;
  beforeAll(async () => {
    host = await createEmulatedHost();
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('create, list, find, remove, with FreeBSD messages', async () => {
    expect(await host.run('jail', ['-c', 'name=web', 'persist', 'vnet'])).toMatchObject({ code: 0, stdout: 'web: created\n' });
    expect(await host.run('jail', ['-c', 'name=web', 'persist', 'vnet'])).toMatchObject({ code: 1, stderr: 'jail: "web" already exists\n' });
    expect(await host.run('jail', ['-c', 'name=plain', 'persist'])).toMatchObject({ code: 0, stdout: 'plain: created\n' });
    const list = parseJlsJidNameVnet(await host.runOk('jls', ['jid', 'name', 'vnet']));
    expect(list.map((j) => [j.name, j.vnet])).toEqual([
      ['web', 'new'],
      ['plain', 'inherit'],
    ]);
    const web = list[0]!;
    expect(await host.runOk('jls', ['-j', 'web', 'jid', 'name'])).toBe(`${web.jid} web\n`);
    expect(await host.runOk('jls', ['-j', String(web.jid), 'name'])).toBe('web\n');
    expect(await host.runOk('jls', ['-j', 'plain', 'vnet'])).toBe('inherit\n');
    expect(await host.runOk('jls', ['-n', '-j', 'web', 'name', 'persist', 'vnet'])).toBe('name=web persist vnet=new\n');
    const table = await host.runOk('jls', []);
    expect(table.split('\n')[0]).toBe('   JID  IP Address      Hostname                      Path');
    // No IPv4 address: jls prints the column empty (jls.c print_jail, "%-15.15s" of "").
    expect(table).toMatch(new RegExp(`^ {5}${web.jid} {18}\\S`, 'm'));
    const json = JSON.parse(await host.runOk('jls', ['--libxo', 'json', 'jid', 'name'])) as { 'jail-information': { jail: { jid: number; name: string }[] } };
    expect(json['jail-information'].jail.map((j) => j.name)).toEqual(['web', 'plain']);
    expect(await host.run('jls', ['-j', 'nope'])).toMatchObject({ code: 1, stderr: 'jls: jail "nope" not found\n' });
    expect(await host.run('jls', ['bogusparam'])).toMatchObject({ code: 1, stderr: 'jls: unknown parameter: bogusparam\n' });
    expect(await host.run('jexec', ['nope', '/bin/true'])).toMatchObject({ code: 1, stderr: 'jexec: jail "nope" not found\n' });
    // usr.sbin/jexec/jexec.c: libjail returns a JID unchecked; jail_attach(2) fails (EINVAL).
    expect(await host.run('jexec', ['4242', '/bin/true'])).toMatchObject({ code: 1, stderr: 'jexec: jail_attach(4242): Invalid argument\n' });
    expect(await host.run('jail', ['-r', 'plain'])).toMatchObject({ code: 0, stdout: 'plain: removed\n' });
    expect(await host.run('jail', ['-r', 'plain'])).toMatchObject({ code: 1, stderr: 'jail: "plain" not found\n' });
    // JIDs keep increasing.
    await host.createJail('later');
    const later = parseJlsJidNameVnet(await host.runOk('jls', ['-j', 'later', 'jid', 'name', 'vnet']))[0]!;
    expect(later.jid).toBeGreaterThan(web.jid + 1);
    await host.removeJail('later');
    await host.removeJail('web');
    expect(await host.runOk('jls', ['jid'])).toBe('');
  });

  test('jexec runs programs in the jail: stdio, exit status, the jail\'s lo0, emulated tools', async () => {
    await host.createJail('ex');
    const r = await host.jexec('ex', ['/bin/sh', '-c', 'read x; echo "got $x"; echo err >&2; exit 7'], { input: 'hello\n' });
    expect(r).toEqual({ code: 7, stdout: 'got hello\n', stderr: 'err\n' });
    // The jail has its own stack: only lo0, down, until configured.
    expect((await host.jexec('ex', ['/usr/sbin/ip', '-br', 'link'])).stdout).toMatch(/^lo +DOWN/);
    await host.runOk('ifconfig', ['-j', 'ex', 'lo0', 'inet', '127.0.0.1/8', 'up']);
    expect((await host.jexec('ex', ['/usr/bin/ping', '-c', '1', '-W', '2', '127.0.0.1'])).code).toBe(0);
    // jexec JAIL /sbin/ifconfig is the emulated ifconfig in the jail's context.
    expect(parseInterfaceList(await host.runOk('jexec', ['ex', '/sbin/ifconfig', '-l']))).toEqual(['lo0']);
    expect(parseIfconfig(await host.runOk('jexec', ['ex', '/sbin/ifconfig', 'lo0']))[0]?.inet[0]).toMatchObject({ address: '127.0.0.1', prefixlen: 8 });
    expect(await host.run('jexec', ['ex', 'no-such-program'])).toMatchObject({ code: 1, stderr: 'jexec: execvp: no-such-program: No such file or directory\n' });
    await host.removeJail('ex');
  });

  test('lo0 coming up gets ::1 and no IPv4 address (in6_ifattach_loopback; Linux\'s automatic 127.0.0.1 is not FreeBSD\'s)', async () => {
    await host.createJail('loup');
    const lo0 = async () => parseIfconfig(await host.runOk('ifconfig', ['-j', 'loup', 'lo0']))[0];
    await host.runOk('ifconfig', ['-j', 'loup', 'lo0', 'up']);
    expect(await lo0()).toMatchObject({ flags: expect.arrayContaining(['UP']), inet: [], inet6: [expect.objectContaining({ address: '::1' })] });
    await host.runOk('ifconfig', ['-j', 'loup', 'lo0', 'down']);
    await host.runOk('ifconfig', ['-j', 'loup', 'lo0', 'inet', '127.0.0.2/8', 'up']);
    expect((await lo0())?.inet.map((a) => a.address)).toEqual(['127.0.0.2']);
    await host.removeJail('loup');
  });

  test('setting lo0\'s address again deletes and re-adds it (it moves behind the other addresses); reading lo0 changes nothing', async () => {
    // sys/netinet/in.c in_aifaddr_ioctl deletes an equal address before adding it, and ifconfig's
    // non-alias form first deletes the first address (clearaddr, sbin/ifconfig/ifconfig.c): the
    // address is briefly gone and comes back last in the interface's list.
    await host.createJail('lo');
    const inet = async () => parseIfconfig(await host.runOk('ifconfig', ['-j', 'lo', 'lo0']))[0]?.inet.map((a) => a.address);
    await host.runOk('ifconfig', ['-j', 'lo', 'lo0', 'inet', '127.0.0.1/8', 'up']);
    await host.runOk('ifconfig', ['-j', 'lo', 'lo0', 'inet', '127.0.0.2/8', 'alias']);
    expect(await inet()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(await inet()).toEqual(['127.0.0.1', '127.0.0.2']);
    await host.runOk('ifconfig', ['-j', 'lo', 'lo0', 'inet', '127.0.0.1/8', 'up']);
    expect(await inet()).toEqual(['127.0.0.2', '127.0.0.1']);
    await host.runOk('ifconfig', ['-j', 'lo', 'lo0', 'inet', '127.0.0.2/8', 'alias']);
    expect(await inet()).toEqual(['127.0.0.1', '127.0.0.2']);
    await host.removeJail('lo');
  });

  test('jail -r kills the jail\'s processes, returns host interfaces under their current names, destroys the jail\'s own', async () => {
    await host.createJail('rm');
    const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    await host.runOk('ifconfig', [b, 'vnet', 'rm']);
    await host.runOk('ifconfig', ['-j', 'rm', b, 'inet', '10.60.0.2/24', 'name', 'eth0', 'description', 'moved in']);
    const own = (await host.runOk('ifconfig', ['-j', 'rm', 'bridge', 'create'])).trim();
    const ownEpair = (await host.runOk('ifconfig', ['-j', 'rm', 'epair', 'create'])).trim();
    expect(own).toBe('bridge0');
    expect(ownEpair).toBe('epair0a');
    const sleeper = host.spawnInJail('rm', ['/bin/sleep', '60']);
    await new Promise((r) => setTimeout(r, 300));
    expect(sleeper.exitCode).toBeNull();
    const exited = exitWithin(sleeper, 10_000, 'the jexec\'d sleep was not killed by jail -r');
    await host.removeJail('rm');
    // jexec dies with its program: of the same signal, or with 128 + SIGKILL.
    expect([137, 'SIGKILL']).toContain(await exited);
    const names = parseInterfaceList(await host.runOk('ifconfig', ['-l']));
    expect(names).toContain('eth0');
    expect(names).not.toContain(own);
    const back = parseIfconfig(await host.runOk('ifconfig', ['eth0']))[0];
    expect(back?.description).toBe('moved in');
    expect(back?.groups).toEqual(['epair']);
    expect(back?.inet).toEqual([]);
    // It is still one end of its epair: destroying it removes the other end and frees the unit.
    await host.runOk('ifconfig', ['eth0', 'destroy']);
    expect(parseInterfaceList(await host.runOk('ifconfig', ['-l']))).not.toContain(a);
    expect((await host.runOk('ifconfig', ['epair', 'create'])).trim()).toBe(a);
    await host.runOk('ifconfig', [a, 'destroy']);
  });

  test('unknown flags: getopt\'s message, then FreeBSD\'s usage text, exit status 1', async () => {
    // usr.sbin/jail/jail.c, usr.sbin/jexec/jexec.c, usr.sbin/jls/jls.c: usage() exits 1 (not 64);
    // jls prints its usage with xo_errx, so with the "jls: " prefix.
    const JAIL_USAGE = [
      'usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]',
      '            -[cmr] param=value ... [command=command ...]',
      '       jail [-dqv] [-f file] -[cmr] [jail]',
      "       jail [-qv] [-f file] -[rR] ['*' | jail ...]",
      '       jail [-dhilqv] [-J jid_file] [-u username] [-U username]',
      '            [-n jailname] [-s securelevel]',
      '            path hostname [ip[,...]] command ...',
      '',
    ].join('\n');
    const JEXEC_USAGE = 'usage: jexec [-l] [-u username | -U username] jail [command ...]\n';
    const JLS_USAGE = 'jls: usage: jls [-dhNnqv] [-j jail] [param ...]\n';
    const cases: [Parameters<EmulatedHost['run']>[0], string[], string][] = [
      ['jail', ['-Z', '-c', 'name=x', 'persist'], `jail: illegal option -- Z\n${JAIL_USAGE}`],
      ['jail', ['-c', '-n'], `jail: option requires an argument -- n\n${JAIL_USAGE}`],
      ['jail', ['name=x', 'persist'], JAIL_USAGE],
      ['jail', ['-r'], JAIL_USAGE],
      ['jexec', ['-Z', 'j', '/bin/true'], `jexec: illegal option -- Z\n${JEXEC_USAGE}`],
      ['jexec', ['-u'], `jexec: option requires an argument -- u\n${JEXEC_USAGE}`],
      ['jexec', [], JEXEC_USAGE],
      ['jls', ['-Z'], `jls: illegal option -- Z\n${JLS_USAGE}`],
      ['jls', ['-j'], `jls: option requires an argument -- j\n${JLS_USAGE}`],
    ];
    for (const [tool, args, stderr] of cases) {
      const r = await host.run(tool, args);
      expect({ tool, args, ...r }).toEqual({ tool, args, code: 1, stdout: '', stderr });
    }
    // Nothing was created by the refused calls.
    expect(await host.runOk('jls', ['name'])).toBe('');
  });

  test('jls -N: the default table with names instead of JIDs', async () => {
    await host.createJail('named');
    const table = (await host.runOk('jls', ['-N'])).split('\n');
    expect(table[0]).toBe(' JID             IP Address      Hostname                      Path');
    expect(table[1]).toMatch(/^ named {27}\S/);
    await host.removeJail('named');
  });

  test('non-vnet jails share the host stack', async () => {
    await host.createJail('shared', { vnet: false });
    const r = await host.jexec('shared', ['/usr/sbin/ip', '-br', 'addr', 'show', 'em0']);
    expect(r.stdout).toContain(host.em0Address);
    expect(parseInterfaceList(await host.runOk('ifconfig', ['-j', 'shared', '-l']))).toContain('em0');
    await host.removeJail('shared');
  });

  test('concurrent jail -c get distinct JIDs; a killed jexec takes its program with it; signals are forwarded', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `par${i}`);
    await Promise.all(names.map((n) => host.createJail(n)));
    const listed = parseJlsJidNameVnet(await host.runOk('jls', ['jid', 'name', 'vnet']));
    expect(new Set(listed.map((j) => j.jid)).size).toBe(8);
    // SIGTERM to jexec reaches the program; jexec dies of it too.
    const term = host.spawnInJail('par0', ['/bin/sleep', '30']);
    await new Promise((r) => setTimeout(r, 400));
    const termExit = exitWithin(term, 10_000, 'jexec did not end on SIGTERM');
    term.kill('SIGTERM');
    expect(await termExit).toBe('SIGTERM');
    // SIGKILL to jexec: the program goes too (PR_SET_PDEATHSIG).
    const killed = host.spawnInJail('par1', ['/bin/sleep', '30']);
    await new Promise((r) => setTimeout(r, 400));
    const killedExit = exitWithin(killed, 10_000, 'jexec did not end on SIGKILL');
    killed.kill('SIGKILL');
    expect(await killedExit).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const ns = `${host.jailNsPrefix}${listed.find((j) => j.name === 'par1')?.jid}`;
    const left = (await host.hostExec(['/usr/sbin/ip', 'netns', 'pids', ns])).stdout.trim();
    expect(left).toBe('');
    await Promise.all(names.map((n) => host.removeJail(n)));
  });
});
