// Preloaded into jailnetd by the benches (BenchDaemon gcOnSignal: NODE_OPTIONS=--expose-gc
// --require this file), never shipped: SIGUSR2 forces a full garbage collection, then writes
// `gc-done` into the daemon's working directory, so the bench knows it has happened.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('SIGUSR2', () => {
  global.gc();
  writeFileSync('gc-done', String(Date.now()));
});
