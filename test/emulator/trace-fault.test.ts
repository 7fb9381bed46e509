/** The trace of invocations and the fault switch. */
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

d('trace and fault switch', () => {
  let host: EmulatedHost;
  beforeAll(async () => {
    host = await createEmulatedHost();
    await host.createJail('tj');
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('every invocation is traced with argv, jail context, exit status and CPU time', async () => {
    const mark = host.traceMark();
    const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    await host.run('ifconfig', ['nosuch0', 'up']);
    await host.runOk('ifconfig', ['-j', 'tj', '-l']);
    await host.runOk('jexec', ['tj', '/sbin/route', '-n', 'get', '-inet', 'default']).catch(() => undefined);
    const since = host.traceSince(mark);
    expect(since.map((e) => [e.tool, e.argv, e.exit, e.jail])).toEqual([
      ['ifconfig', ['epair', 'create'], 0, undefined],
      ['ifconfig', ['nosuch0', 'up'], 1, undefined],
      ['ifconfig', ['-j', 'tj', '-l'], 0, undefined],
      ['route', ['-n', 'get', '-inet', 'default'], 1, 'tj'],
      ['jexec', ['tj', '/sbin/route', '-n', 'get', '-inet', 'default'], 1, undefined],
    ]);
    for (const e of since) {
      expect(e.ms).toBeGreaterThanOrEqual(0);
      expect(e.ts).toBeGreaterThan(0);
      // The invocation's CPU time (a node process has always used some by then): benchmarks
      // read it, tests never compare it.
      expect(e.cpuMs).toBeGreaterThan(0);
    }
    expect(host.trace().length).toBe(mark + since.length);
    await host.runOk('ifconfig', [a, 'destroy']);
  });

  test('a fault makes the matching command fail without effect; others run; clearing restores', async () => {
    const before = await host.interfaces();
    host.setFaults([{ tool: 'ifconfig', words: ['vnet', 'tj'], stderr: 'ifconfig: SIOCSIFVNET: Device busy' }]);
    const a = (await host.runOk('ifconfig', ['epair', 'create'])).trim();
    const b = a.replace(/a$/, 'b');
    const mark = host.traceMark();
    expect(await host.run('ifconfig', [b, 'vnet', 'tj'])).toMatchObject({ code: 1, stderr: 'ifconfig: SIOCSIFVNET: Device busy\n' });
    expect(host.traceSince(mark)).toEqual([expect.objectContaining({ tool: 'ifconfig', argv: [b, 'vnet', 'tj'], exit: 1, fault: true })]);
    expect((await host.interfaces()).jails['tj']?.map((i) => i.name)).toEqual(['lo0']);
    host.setFaults([{ tool: 'route', words: ['add'], exit: 3 }]);
    expect(await host.run('route', ['add', 'default', '10.0.0.1'])).toMatchObject({ code: 3, stderr: 'route: injected fault\n' });
    host.clearFaults();
    await host.runOk('ifconfig', [b, 'vnet', 'tj']);
    await host.runOk('ifconfig', [a, 'destroy']);
    expect(await host.interfaces()).toEqual(before);
  });
});
