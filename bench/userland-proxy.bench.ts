/**
 * What jailnetd's userland proxy costs a connection that starts on the host: the same TCP
 * service reached directly and through the proxy (daemon/proxy.ts), on loopback, interleaved in
 * the same run. Reported: connect + one request/answer (p50 of many short connections), bulk
 * throughput of one connection (each way through the proxy is a read and a write in jailnetd),
 * and the memory one idle listening socket takes in jailnetd. The proxy runs in this process,
 * as in jailnetd; the service and the client run here too, so the figures are ratios against
 * the direct path measured alongside, not absolutes.
 *   BENCH_CONNECTIONS (default 400), BENCH_MBYTES (default 200), BENCH_LISTENERS (default 1000)
 */
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { UserlandProxy } from '../daemon/proxy';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 400);
const MBYTES = Number(process.env.BENCH_MBYTES ?? 200);
const LISTENERS = Number(process.env.BENCH_LISTENERS ?? 1000);
const LO = '127.0.0.1';

const listen = (server: Server, port = 0) => new Promise<number>((resolve) => server.listen(port, LO, () => resolve((server.address() as AddressInfo).port)));

/** Connect, send one line, read the one-line answer, close: milliseconds. */
function roundTrip(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const sock = connect({ host: LO, port }, () => sock.write('ping\n'));
    sock.once('data', () => {
      sock.destroy();
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    sock.on('error', reject);
  });
}

/** Send `bytes` and wait until the service has counted them all: MB/s. */
function bulk(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const t0 = process.hrtime.bigint();
    const sock = connect({ host: LO, port, allowHalfOpen: true }, () => {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!sock.write(chunk)) return void sock.once('drain', pump);
        }
        sock.end();
      };
      pump();
    });
    sock.on('data', () => {});
    sock.on('end', () => resolve(bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9)));
    sock.on('error', reject);
  });
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  // The service: answers a line with a line; counts bulk bytes and answers when the client is done.
  const service = createServer({ allowHalfOpen: true }, (sock) => {
    let n = 0;
    sock.on('data', (b: Buffer) => {
      n += b.length;
      if (n < 64 && b.includes(0x0a)) sock.write('pong\n');
    });
    sock.on('end', () => sock.end(`${n}\n`));
  });
  const direct = await listen(service);
  const proxy = new UserlandProxy();
  const probe = createServer();
  const proxied = await listen(probe);
  await new Promise<void>((r) => probe.close(() => r()));
  await proxy.open('bench', [{ protocol: 'tcp', listenAddress: LO, port: proxied, targetAddress: LO, targetPort: direct }]);

  for (let i = 0; i < 20; i++) await roundTrip(i % 2 ? proxied : direct);
  const viaDirect: number[] = [];
  const viaProxy: number[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    viaDirect.push(await roundTrip(direct));
    viaProxy.push(await roundTrip(proxied));
  }
  console.log(`connect + request/answer, ${CONNECTIONS} connections each, interleaved:`);
  console.log(`  direct        p50 ${p50(viaDirect).toFixed(3)} ms`);
  console.log(`  through proxy p50 ${p50(viaProxy).toFixed(3)} ms  (${(p50(viaProxy) / p50(viaDirect)).toFixed(2)}x, +${(p50(viaProxy) - p50(viaDirect)).toFixed(3)} ms)`);

  const bytes = MBYTES * 1e6;
  const rates: [number[], number[]] = [[], []];
  for (let round = 0; round < 3; round++) {
    rates[0].push(await bulk(direct, bytes));
    rates[1].push(await bulk(proxied, bytes));
  }
  const best = (xs: number[]) => Math.max(...xs);
  console.log(`bulk, ${MBYTES} MB one way, best of 3:`);
  console.log(`  direct        ${best(rates[0]).toFixed(0)} MB/s`);
  console.log(`  through proxy ${best(rates[1]).toFixed(0)} MB/s  (${(best(rates[1]) / best(rates[0])).toFixed(2)}x)`);

  // Memory of idle listeners: LISTENERS sockets on consecutive free ports above the proxied one.
  const owner = 'idle';
  const before = (global.gc?.(), process.memoryUsage());
  const specs = [];
  for (let port = proxied + 1; specs.length < LISTENERS && port < 65535; port++) specs.push({ protocol: 'tcp' as const, listenAddress: LO, port, targetAddress: LO, targetPort: direct });
  let opened = 0;
  for (const s of specs) {
    try {
      await proxy.open(owner, [s]);
      opened++;
    } catch {
      /* a port in use here: skipped */
    }
  }
  global.gc?.();
  const after = process.memoryUsage();
  // Resident size moves with garbage collection by more than this; the heap is the steady figure.
  console.log(`${opened} idle listening sockets: +${((after.heapUsed - before.heapUsed) / opened / 1024).toFixed(2)} KiB of heap each, and one file descriptor each (a proxied connection holds two more)`);

  await proxy.closeAll();
  await new Promise<void>((r) => service.close(() => r()));
}

void main();
