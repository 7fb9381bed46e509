#!/usr/bin/env node
// Runs a TypeScript file from the source tree (the demo), compiling each module with esbuild as
// it is required, so that its __dirname is its real folder. Usage: node scripts/run-ts.cjs FILE [ARGS]
'use strict';
const { transformSync } = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: filename, sourcemap: 'inline' });
  module._compile(code, filename);
};
const file = path.resolve(process.argv[2]);
process.argv.splice(1, 2, file);
require(file);
