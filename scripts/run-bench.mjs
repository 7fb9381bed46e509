#!/usr/bin/env node
// Runs the benchmarks in bench/: `npm run bench [-- name...]` (name = file name without
// .bench.ts). Each bench is bundled with esbuild into .bench/ and run with node; it prints
// its own figures. Build first (`npm run build`): benches measure the bundled executables.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wanted = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((name) => wanted.length === 0 || wanted.includes(name));
if (benches.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(1);
}
// A bench may build on the test harness (the emulated host: bench/dns.bench.ts), whose files
// find their neighbours (dist/, the harness's scripts) through __dirname: in the bundle each
// gets its own source directory, not the bundle's.
const sourceDirname = {
  name: 'source-dirname',
  setup(b) {
    b.onLoad({ filter: /[\/]test[\/].*\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/\b__dirname\b/g, JSON.stringify(dirname(args.path))),
      loader: 'ts',
    }));
  },
};
let failed = false;
for (const name of benches) {
  const outfile = join(root, '.bench', `${name}.cjs`);
  await build({ entryPoints: [join(root, 'bench', `${name}.bench.ts`)], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', plugins: [sourceDirname] });
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, ['--expose-gc', outfile], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
