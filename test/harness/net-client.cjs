#!/usr/bin/env node
// Client for emulated-host tests: `node net-client.cjs tcp|udp HOST PORT [MESSAGE] [TIMEOUT_MS]`.
// Prints the server's first answer line and exits 0; exits 1 on a connection error and 2 on
// a timeout (with the reason on stderr).
'use strict';
const net = require('node:net');
const dgram = require('node:dgram');

const [proto, host, portArg, message = 'hello', timeoutArg = '3000'] = process.argv.slice(2);
const port = Number(portArg);
const timer = setTimeout(() => {
  process.stderr.write(`timeout after ${timeoutArg} ms\n`);
  process.exit(2);
}, Number(timeoutArg));

if (proto === 'tcp') {
  let buf = '';
  const sock = net.connect({ host, port }, () => sock.write(`${message}\n`));
  sock.on('data', (b) => {
    buf += b.toString();
    const nl = buf.indexOf('\n');
    if (nl >= 0) {
      process.stdout.write(buf.slice(0, nl + 1));
      clearTimeout(timer);
      sock.destroy();
      process.exit(0);
    }
  });
  sock.on('error', (e) => {
    process.stderr.write(`${e.code || e.message}\n`);
    process.exit(1);
  });
} else {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (msg) => {
    process.stdout.write(msg.toString().endsWith('\n') ? msg.toString() : `${msg}\n`);
    clearTimeout(timer);
    process.exit(0);
  });
  sock.on('error', (e) => {
    process.stderr.write(`${e.code || e.message}\n`);
    process.exit(1);
  });
  sock.send(message, port, host);
}
