// Preloaded into jailnetd by the benches (BenchDaemon gcOnSignal: NODE_OPTIONS=--expose-gc
// --require this file), never shipped: SIGUSR2 forces a full garbage collection, then writes
// `gc-done` into the daemon's working directory, so the bench knows it has happened: one JSON
// line with the process's memory after it (process.memoryUsage() and V8's heap spaces).
'use strict';
const { writeFileSync } = require('node:fs');
const { getHeapSpaceStatistics } = require('node:v8');

process.on('SIGUSR2', () => {
  global.gc();
  writeFileSync('gc-done', `${JSON.stringify({ at: Date.now(), memoryUsage: process.memoryUsage(), heapSpaces: getHeapSpaceStatistics() })}\n`);
});
