#!/usr/bin/env node
// A tiny server for emulated-host tests: `node echo-server.cjs tcp|udp PORT [BIND]`.
// Prints "ready PORT" when listening. Each TCP connection and each UDP datagram is answered
// with one JSON line {"proto","peer","peerPort","local","localPort","data"} telling the
// address the server saw; TCP connections are closed after the answer.
'use strict';
const net = require('node:net');
const dgram = require('node:dgram');

const [proto, portArg, bind = '::'] = process.argv.slice(2);
const port = Number(portArg);
/** A socket that cannot listen (EADDRINUSE...): its code on stderr, exit 1. */
const fail = (e) => {
  process.stderr.write(`${e.code || e.message}\n`);
  process.exit(1);
};
const plain = (a) => (typeof a === 'string' && a.startsWith('::ffff:') ? a.slice(7) : a);

if (proto === 'tcp') {
  const server = net.createServer((sock) => {
    let data = '';
    const answer = () => {
      sock.end(`${JSON.stringify({ proto, peer: plain(sock.remoteAddress), peerPort: sock.remotePort, local: plain(sock.localAddress), localPort: sock.localPort, data })}\n`);
    };
    const timer = setTimeout(answer, 200);
    sock.on('data', (b) => {
      data += b.toString();
      if (data.includes('\n')) {
        clearTimeout(timer);
        answer();
      }
    });
    sock.on('error', () => {});
  });
  server.on('error', (e) => fail(e));
  server.listen({ port, host: bind, ipv6Only: false }, () => process.stdout.write(`ready ${server.address().port}\n`));
} else if (proto === 'udp') {
  const sock = dgram.createSocket({ type: bind.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
  sock.on('message', (msg, rinfo) => {
    const local = sock.address();
    sock.send(`${JSON.stringify({ proto, peer: plain(rinfo.address), peerPort: rinfo.port, local: plain(local.address), localPort: local.port, data: msg.toString() })}\n`, rinfo.port, rinfo.address);
  });
  sock.on('error', (e) => fail(e));
  sock.bind(port, bind, () => process.stdout.write(`ready ${sock.address().port}\n`));
} else {
  process.stderr.write('usage: echo-server.cjs tcp|udp PORT [BIND]\n');
  process.exit(64);
}
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
