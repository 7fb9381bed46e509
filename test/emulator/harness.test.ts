/** The harness itself: unique names, teardown, leftovers of dead runs. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { canRunEmulator, cleanupStaleHosts, createEmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

function netns(): string[] {
  return execFileSync('/usr/sbin/ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

d('emulated host harness', () => {
  test('two hosts in one process are independent; destroy removes every namespace, process and file', async () => {
    const rootLinks = execFileSync('/usr/sbin/ip', ['-br', 'link'], { encoding: 'utf8' });
    const [h1, h2] = await Promise.all([createEmulatedHost(), createEmulatedHost()]);
    expect(h1.hostNs).not.toBe(h2.hostNs);
    expect(h1.hostNs).toMatch(new RegExp(`^jne-${process.pid}-[0-9a-f]{6}-h$`));
    await h1.createJail('same');
    await h2.createJail('same');
    expect((await h1.runOk('ifconfig', ['epair', 'create'])).trim()).toBe('epair0a');
    expect((await h2.runOk('ifconfig', ['epair', 'create'])).trim()).toBe('epair0a');
    const server = await h1.startWorldServer({ proto: 'tcp', port: 7000 });
    const sleeper = h1.spawnInJail('same', ['/bin/sleep', '60']);
    await new Promise((r) => setTimeout(r, 200));
    const mine = netns().filter((n) => n.startsWith(`jne-${process.pid}-`));
    expect(mine.length).toBe(6);
    await h1.destroy();
    await h2.destroy();
    expect(netns().filter((n) => n.startsWith(`jne-${process.pid}-`))).toEqual([]);
    expect(existsSync(h1.dir)).toBe(false);
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    expect(sleeper.exitCode !== null || sleeper.signalCode !== null).toBe(true);
    // The machine's own interfaces are untouched.
    expect(execFileSync('/usr/sbin/ip', ['-br', 'link'], { encoding: 'utf8' })).toBe(rootLinks);
  });

  test('cleanupStaleHosts removes namespaces of runs whose process is gone, and only those', async () => {
    // A pid that is not running: the harness's naming scheme with a dead creator.
    let dead = 4_000_000;
    while (existsSync(`/proc/${dead}`)) dead++;
    const stale = `jne-${dead}-abcdef-h`;
    execFileSync('/usr/sbin/ip', ['netns', 'add', stale]);
    const live = await createEmulatedHost();
    try {
      expect(netns()).not.toContain(stale);
      expect(cleanupStaleHosts()).toEqual([]);
      expect(netns()).toContain(live.hostNs);
    } finally {
      await live.destroy();
    }
  });
});
