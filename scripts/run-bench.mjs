#!/usr/bin/env node
// Runs the benchmarks in bench/: `npm run bench [-- name... [--option...]]` (name = file name
// without .bench.ts; the first argument that starts with `-` and everything after it go to each
// bench, e.g. `npm run bench -- attach --cycles 50`). Each bench is bundled with esbuild into
// .bench/ and run with node; it prints its own figures. Build first (`npm run build`): benches
// measure the bundled executables.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
const benchArgs = firstOption < 0 ? [] : args.slice(firstOption);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((name) => wanted.length === 0 || wanted.includes(name));
if (benches.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(1);
}

// A module bundled into .bench/ would see .bench/ as its __dirname; the test harness (the
// emulated host of the attach and dns benches) finds dist/ and its helper scripts from its own
// folder, so each module gets its real one.
const realDirname = {
  name: 'real-dirname',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (a) => {
      const text = await readFile(a.path, 'utf8');
      if (!/\b__dirname\b/.test(text)) return undefined;
      return { contents: `const __dirname = ${JSON.stringify(dirname(a.path))};\n${text}`, loader: 'ts' };
    });
  },
};

// As scripts/test.sh: NODE_EXTRA_CA_CERTS makes every node start read a certificate bundle
// (about 80 ms here); nothing a bench starts makes TLS connections.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

let failed = false;
for (const name of benches) {
  const outfile = join(root, '.bench', `${name}.cjs`);
  await build({ entryPoints: [join(root, 'bench', `${name}.bench.ts`)], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', plugins: [realDirname] });
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, ['--expose-gc', outfile, ...benchArgs], { stdio: 'inherit', cwd: root, env });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
