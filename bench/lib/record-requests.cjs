// Preloaded into jailnetd by the daemon-memory bench (NODE_OPTIONS=--require this file), never
// shipped: appends every API request the daemon answers (method, path, body, status) to
// `requests.jsonl` in the daemon's working directory, so that the bench can replay what a real
// attach and detach ask of jailnetd without starting the plugins each time.
'use strict';
const { appendFileSync } = require('node:fs');
const { Server } = require('node:http');

const emit = Server.prototype.emit;
Server.prototype.emit = function (event, req, res) {
  if (event === 'request') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    res.on('finish', () => {
      const entry = { method: req.method, path: req.url, body: Buffer.concat(chunks).toString('utf8'), status: res.statusCode };
      appendFileSync('requests.jsonl', `${JSON.stringify(entry)}\n`);
    });
  }
  return emit.apply(this, arguments);
};
