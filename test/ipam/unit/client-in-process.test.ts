import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CniError } from '../../../src/cni/errors';
import { callDaemon, DaemonRefusal, DaemonUnreachable, serveInProcess } from '../../../src/ipam/client';

// A jailnetd in the caller's own process (the hook chain jailnetd runs) is reached without HTTP;
// everything else about a call is the same.

const socket = join(tmpdir(), `jailnet-in-process-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
afterEach(() => serveInProcess(socket, undefined));

test('a registered daemon gets the request as it would go on the wire; nothing connects', async () => {
  const seen: unknown[] = [];
  serveInProcess(socket, async (method, path, payload) => {
    seen.push({ method, path, payload });
    return { status: 200, text: '{"ips":[]}\n' };
  });
  // No socket file exists: an HTTP call would fail with ENOENT.
  await expect(callDaemon({ socket, timeoutMs: 1000 }, 'POST', '/v1/allocate', { network: 'n', containerID: 'c' })).resolves.toEqual({ ips: [] });
  expect(seen).toEqual([{ method: 'POST', path: '/v1/allocate', payload: '{"network":"n","containerID":"c"}' }]);
});

test('its refusals, bodies that are not JSON and silence end as over HTTP', async () => {
  serveInProcess(socket, async () => ({ status: 409, text: JSON.stringify({ error: { reason: 'address-held', message: '10.0.0.5 is held', holder: 'x' } }) }));
  await expect(callDaemon({ socket, timeoutMs: 1000 }, 'POST', '/v1/allocate', {})).rejects.toEqual(expect.any(DaemonRefusal));
  await expect(callDaemon({ socket, timeoutMs: 1000 }, 'POST', '/v1/allocate', {})).rejects.toMatchObject({ status: 409, body: { reason: 'address-held', message: '10.0.0.5 is held' } });
  serveInProcess(socket, async () => ({ status: 200, text: 'oops' }));
  await expect(callDaemon({ socket, timeoutMs: 1000 }, 'GET', '/v1/leases')).rejects.toMatchObject({ code: 101, message: 'jailnetd answered GET /v1/leases with status 200 and a body that is not JSON' });
  serveInProcess(socket, () => new Promise(() => undefined));
  await expect(callDaemon({ socket, timeoutMs: 50 }, 'GET', '/v1/leases')).rejects.toEqual(expect.any(CniError));
  await expect(callDaemon({ socket, timeoutMs: 50 }, 'GET', '/v1/leases')).rejects.toMatchObject({ code: 11 });
});

test('another socket, or one no longer registered, goes over HTTP', async () => {
  serveInProcess(socket, async () => ({ status: 200, text: '{}' }));
  await expect(callDaemon({ socket: `${socket}.other`, timeoutMs: 1000 }, 'GET', '/v1/health')).rejects.toEqual(expect.any(DaemonUnreachable));
  serveInProcess(socket, undefined);
  await expect(callDaemon({ socket, timeoutMs: 1000 }, 'GET', '/v1/health')).rejects.toMatchObject({ absent: true, errno: 'ENOENT' });
});
