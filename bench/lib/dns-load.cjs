#!/usr/bin/env node
// Load for bench/dns.bench.ts, run inside a jail: CLIENTS concurrent clients, each with its own
// UDP socket, ask NAME (type A) of SERVER one query after another for MS milliseconds (a new
// random ID each, one second's timeout). Prints one JSON line: answers, timeouts, wrong answers
// and every latency in ms. Queries are encoded with dns-packet (CODEC: its path).
'use strict';
const dgram = require('node:dgram');
const [codecPath, server, name, clients, ms] = process.argv.slice(2);
const packet = require(codecPath);

function one(socket, id) {
  const message = packet.encode({ id, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const timer = setTimeout(() => finish('timeout'), 1000);
    const onMessage = (m) => {
      if (m.length < 2 || m.readUInt16BE(0) !== id) return;
      let ok = false;
      try {
        ok = packet.decode(m).answers.some((a) => a.type === 'A');
      } catch {}
      finish(ok ? Number(process.hrtime.bigint() - t0) / 1e6 : 'wrong');
    };
    const finish = (v) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(v);
    };
    socket.on('message', onMessage);
    socket.send(message, 53, server);
  });
}

async function client(end, out) {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => {});
  await new Promise((r) => socket.bind(0, r));
  while (Date.now() < end) {
    const r = await one(socket, Math.floor(Math.random() * 65536));
    if (typeof r === 'number') out.latencies.push(r);
    else out[r === 'timeout' ? 'timeouts' : 'wrong']++;
  }
  socket.close();
}

(async () => {
  const out = { latencies: [], timeouts: 0, wrong: 0 };
  const end = Date.now() + Number(ms);
  await Promise.all(Array.from({ length: Number(clients) }, () => client(end, out)));
  process.stdout.write(`${JSON.stringify(out)}\n`);
})();
