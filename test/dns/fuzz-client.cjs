#!/usr/bin/env node
// Run inside a jail (jexec). Two modes, each printing one JSON line at the end:
//   client CODEC SERVER NAME ADDRESS N STOP  asks NAME (A) every 20 ms, udp and tcp in turn, at
//                                         least N times and until the file STOP exists, and
//                                         counts answers that hold exactly ADDRESS;
//   fuzz CODEC SERVER SEED CASES          sends random and mutated messages over udp and tcp.
// CODEC is the path of dns-packet (the queries are encoded with it, not by hand).
'use strict';
const dgram = require('node:dgram');
const net = require('node:net');
const { prng } = require('../helpers/prng.cjs');

const [mode, codecPath, server, ...rest] = process.argv.slice(2);
const packet = require(codecPath);

function query(id, name, type, edns) {
  return packet.encode({ id, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] }] : [] });
}

function askUdp(message, timeoutMs) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (v) => {
      clearTimeout(timer);
      try {
        s.close();
      } catch {}
      resolve(v);
    };
    s.on('error', () => done(undefined));
    s.on('message', (m) => done(m));
    s.send(message, 53, server);
  });
}

function askTcp(message, timeoutMs) {
  return new Promise((resolve) => {
    const s = net.connect({ host: server, port: 53 });
    let buf = Buffer.alloc(0);
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(undefined));
    s.on('error', () => done(undefined));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) done(buf.subarray(2, buf.readUInt16BE(0) + 2));
    });
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(message.length);
      s.write(Buffer.concat([len, message]));
    });
  });
}

async function client(name, address, min, stop) {
  let asked = 0;
  let right = 0;
  const wrong = [];
  for (let i = 0; i < Number(min) || !require('node:fs').existsSync(stop); i++) {
    const id = (i * 7919) & 0xffff;
    const tcp = i % 4 === 3;
    let answer;
    for (let t = 0; t < 3 && !answer; t++) answer = await (tcp ? askTcp : askUdp)(query(id, name, 'A', i % 2 === 0), 2000);
    asked++;
    let got;
    try {
      const p = answer && packet.decode(answer);
      got = p && p.id === id ? p.answers.filter((a) => a.type === 'A').map((a) => a.data) : undefined;
    } catch {}
    if (got && got.length === 1 && got[0] === address) right++;
    else if (wrong.length < 5) wrong.push({ tcp, got: got ?? null });
    await new Promise((r) => setTimeout(r, 20));
  }
  return { asked, right, wrong };
}

async function fuzz(seed, cases) {
  const rand = prng(Number(seed));
  const int = (n) => Math.floor(rand() * n);
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const names = ['fz', 'fz.fuzz', 'ok.fuzz', 'nothere.fuzz', 'www.example.test', 'x.y.z', '1.0.89.10.in-addr.arpa', 'a'.repeat(63)];
  const types = ['A', 'AAAA', 'PTR', 'ANY', 'TXT', 'MX', 'AXFR', 'IXFR', 'SOA', 'CNAME'];
  const corpus = [];
  for (const n of names) for (const t of types) corpus.push(query(int(65536), n, t, rand() < 0.5));
  // Known troublemakers: a compression pointer to itself and forwards, a name too long, counts that lie, an answer.
  const loop = Buffer.from(query(1, 'a', 'A', false));
  loop.writeUInt16BE(0xc00c, 12);
  corpus.push(loop);
  const fwd = Buffer.from(query(2, 'a', 'A', false));
  fwd.writeUInt16BE(0xc0ff, 12);
  corpus.push(fwd);
  const lies = Buffer.from(query(3, 'fz', 'A', false));
  lies.writeUInt16BE(0xffff, 4);
  lies.writeUInt16BE(0xffff, 10);
  corpus.push(lies);
  const resp = Buffer.from(query(4, 'fz', 'A', false));
  resp[2] |= 0x80;
  corpus.push(resp);
  const notQuery = Buffer.from(query(5, 'fz', 'A', false));
  notQuery[2] |= 0x28; // opcode 5 (UPDATE)
  corpus.push(notQuery);
  const mutate = (m) => {
    const b = Buffer.from(m);
    switch (int(6)) {
      case 0:
        for (let k = 0; k < 1 + int(8); k++) b[int(b.length)] = int(256);
        return b;
      case 1:
        return b.subarray(0, int(b.length + 1));
      case 2:
        return Buffer.concat([b, bytes(int(600))]);
      case 3:
        return bytes(int(1500));
      case 4:
        return Buffer.concat([b.subarray(0, 12), bytes(int(300))]);
      default:
        b.writeUInt16BE(int(65536), 2 + 2 * int(5));
        return b;
    }
  };
  const s = dgram.createSocket('udp4');
  s.on('error', () => {});
  s.on('message', () => {});
  let sent = 0;
  const tcpCases = [];
  for (let i = 0; i < Number(cases); i++) {
    const m = mutate(corpus[int(corpus.length)]);
    if (rand() < 0.92) {
      s.send(m, 53, server);
      sent++;
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
      continue;
    }
    // tcp: a frame whose length may lie, split writes, stalls, or many connections at once.
    tcpCases.push(
      new Promise((resolve) => {
        const c = net.connect({ host: server, port: 53 });
        c.on('error', () => resolve());
        c.on('close', () => resolve());
        c.setTimeout(1000, () => c.destroy());
        c.on('connect', () => {
          const kind = int(4);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(kind === 0 ? int(65536) : m.length);
          if (kind === 1) {
            c.write(len.subarray(0, 1));
            setTimeout(() => c.end(Buffer.concat([len.subarray(1), m])), 50);
          } else if (kind === 2) {
            c.write(Buffer.concat([len, m, len, m, len, m]));
            setTimeout(() => c.destroy(), 200);
          } else c.end(Buffer.concat([len, m]));
        });
      }),
    );
    if (tcpCases.length >= 64) await Promise.all(tcpCases.splice(0));
  }
  await Promise.all(tcpCases);
  s.close();
  return { sent };
}

(async () => {
  const out = mode === 'client' ? await client(rest[0], rest[1], rest[2], rest[3]) : await fuzz(rest[0], rest[1]);
  process.stdout.write(`${JSON.stringify(out)}\n`);
})().catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: String(err && err.stack) })}\n`);
  process.exitCode = 1;
});
