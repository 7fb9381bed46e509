import { Sandbox, type DaemonProcess } from '../helpers/sandbox';

/**
 * jailnetd gives back the memory a burst of requests leaves once its API is quiet (daemon/heap.ts
 * IdleCollector, docs/performance.md): the collection happens, after requests, in the real daemon.
 * When it runs is the unit test's business (test/unit/daemon/idle-collector.test.ts).
 */

let sb: Sandbox;
let daemon: DaemonProcess;

beforeAll(async () => {
  sb = new Sandbox('idlegc');
  daemon = await sb.startDaemon(['--log-level', 'debug']);
});
afterAll(() => sb.cleanup());

/** Waits for a condition the daemon brings about; the deadline only ends a hung test. */
async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const collections = () => sb.log().match(/idle: full garbage collections in [\d.]+ ms/g)?.length ?? 0;

test('after requests, once the API is quiet, the daemon collects; it answers as before', async () => {
  await until('the collection after the start-up requests', () => collections() >= 1);
  const before = collections();
  const ranges = [[{ subnet: '10.77.0.0/24' }]];
  for (let i = 0; i < 5; i++) expect((await sb.api('POST', '/v1/allocate', { network: 'idle', containerID: `c${i}`, ifname: 'eth0', ranges })).status).toBe(200);
  for (let i = 0; i < 5; i++) expect((await sb.api('POST', '/v1/release', { network: 'idle', containerID: `c${i}`, ifname: 'eth0' })).status).toBe(200);
  await until('a collection after the allocations', () => collections() > before);
  expect((await sb.api('GET', '/v1/health')).status).toBe(200);
  expect(daemon.child.exitCode).toBeNull();
});
