import type { LeaseView, StatusResponse } from '../../../src/ipam/api-types';
import { canRunEmulator, createEmulatedHost, type EmulatedHost } from '../../harness/emulated-host';
import { Sandbox } from '../helpers/sandbox';

/**
 * The jail check on the emulated FreeBSD host: jailnetd runs the emulated jls (through
 * JAILNET_FREEBSD_ROOT) and releases the leases and host ports of jails that are gone, after
 * the grace period, and nothing else.
 */

jest.setTimeout(120_000);
const suite = canRunEmulator ? describe : describe.skip;

const RANGES = [[{ subnet: '10.90.0.0/24' }]];
const GRACE_S = 1.5;

suite('jail check', () => {
  let host: EmulatedHost;
  let sb: Sandbox;

  beforeAll(async () => {
    host = await createEmulatedHost();
    sb = new Sandbox('reclaim');
    for (const j of ['j1', 'j2', 'j3', 'flap']) await host.createJail(j);
    await sb.startDaemon(['--reclaim-interval', '0.2', '--reclaim-grace', String(GRACE_S)], host.env);
  });
  afterAll(async () => {
    await sb?.cleanup();
    await host?.destroy();
  });

  const allocate = (containerID: string, jail?: string) =>
    sb.api('POST', '/v1/allocate', { network: 'rc', containerID, ifname: 'eth0', ranges: RANGES, ...(jail ? { jail } : {}) });
  const held = async () => (await sb.api<{ leases: LeaseView[] }>('GET', '/v1/leases?network=rc')).body.leases.map((l) => l.containerID).sort();
  const status = async () => (await sb.api<StatusResponse>('GET', '/v1/status')).body;
  async function until(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('releases what vanished jails held after the grace period, and nothing else', async () => {
    const jid = (await host.runOk('jls', ['-j', 'j1', 'jid'])).trim();
    expect((await allocate('web', 'j1')).status).toBe(200);
    expect((await allocate('by-jid', jid)).status).toBe(200);
    expect((await allocate('db', 'j2')).status).toBe(200);
    expect((await sb.api('POST', '/v1/ports/reserve', { network: 'rc', containerID: 'db', ifname: 'eth0', jail: 'j2', ports: [{ protocol: 'tcp', hostPort: 5432 }] })).status).toBe(200);
    // No jail given: the container ID is the jail name (runj).
    expect((await allocate('j3')).status).toBe(200);
    expect((await allocate('flapper', 'flap')).status).toBe(200);
    expect(await held()).toEqual(['by-jid', 'db', 'flapper', 'j3', 'web']);

    await host.removeJail('j2');
    // j3 vanishes after this moment, so its lease must not go before the grace period after it.
    const removingJ3 = Date.now();
    await host.removeJail('j3');
    await host.removeJail('flap');
    await until('flap to be seen missing', async () => (await status()).reclaim.missing.some((m) => m.jail === 'flap'));
    await host.createJail('flap');

    await until('the leases of j2 and j3 to be released', async () => !(await held()).includes('db') && !(await held()).includes('j3'));
    expect(Date.now() - removingJ3).toBeGreaterThanOrEqual(GRACE_S * 1000);
    // At least one more check: what is still there stays.
    const runs = (await status()).reclaim.lastRunAt;
    await until('another check', async () => (await status()).reclaim.lastRunAt !== runs);
    await new Promise((r) => setTimeout(r, 500));
    expect(await held()).toEqual(['by-jid', 'flapper', 'web']);
    expect((await sb.api<{ reservations: unknown[] }>('GET', '/v1/ports?network=rc')).body.reservations).toEqual([]);
    expect(sb.log()).toMatch(/released the lease of vanished jail j2/);
    expect(sb.log()).toMatch(/released the host ports of vanished jail j2/);
    expect(sb.log()).toMatch(/released the lease of vanished jail j3/);
    expect((await sb.api('GET', '/v1/metrics')).text).toMatch(/^jailnetd_releases_total\{cause="reclaim"\} 2$/m);
  });

  test('when jls fails nothing is released', async () => {
    host.setFaults([{ tool: 'jls', words: ['jid'], stderr: 'jls: sysctl: kern.jail: Cannot allocate memory', exit: 1 }]);
    await host.removeJail('j1');
    await until('a failed check', async () => /Cannot allocate memory/.test((await status()).reclaim.lastError ?? ''));
    await new Promise((r) => setTimeout(r, GRACE_S * 1000 + 1000));
    expect(await held()).toEqual(['by-jid', 'flapper', 'web']);
    expect(sb.log()).toMatch(/jail check skipped: cannot list jails/);
    host.clearFaults();
    await until('the leases of j1 (by name and by JID) to be released', async () => (await held()).join() === 'flapper');
  });
});
