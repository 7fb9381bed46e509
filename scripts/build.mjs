#!/usr/bin/env node
// Bundles every executable into dist/: one self-contained file each, so that a plugin's
// start-up reads one file and resolves no modules. Run after gen-validators.mjs.
//   plugins/<name>.ts            -> dist/cni/<name>          (CNI plugins, named by CNI type)
//   src/cli/main.ts              -> dist/bin/jailnet
//   daemon/main.ts               -> dist/bin/jailnetd
//   emulator/bin/<tool>.ts       -> dist/emulator/<tool>.js  (emulated FreeBSD host)
//   test/fixtures/plugins/<n>.ts -> dist/test/cni/<n>        (test-only plugins)
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = [];
const addDir = (dir, outDir, suffix = '') => {
  const abs = join(root, dir);
  if (!existsSync(abs)) return;
  for (const f of readdirSync(abs)) {
    if (f.endsWith('.ts') && !f.endsWith('.d.ts')) entries.push({ in: join(abs, f), out: join(outDir, basename(f, '.ts') + suffix) });
  }
};
addDir('plugins', 'cni');
addDir('emulator/bin', 'emulator', '.js');
addDir('test/fixtures/plugins', 'test/cni');
if (existsSync(join(root, 'src/cli/main.ts'))) entries.push({ in: join(root, 'src/cli/main.ts'), out: 'bin/jailnet' });
if (existsSync(join(root, 'daemon/main.ts'))) entries.push({ in: join(root, 'daemon/main.ts'), out: 'bin/jailnetd' });

// Built into a private staging dir, then each file is renamed into dist/: a test or a second
// build running at the same time never finds an executable missing or half written.
// `node scripts/build.mjs NAME...` builds only the entries whose output path contains a NAME
// (and leaves the rest of dist/ alone), for a quick rebuild while working on one part.
const only = process.argv.slice(2);
if (only.length) entries.splice(0, entries.length, ...entries.filter((e) => only.some((n) => e.out.includes(n))));
const dist = join(root, 'dist');
const staging = join(root, `.dist-staging-${process.pid}`);
rmSync(staging, { recursive: true, force: true });

// Libraries loaded only on some paths (winston: only when a message is logged) are bundled
// once into dist/lib/ and required from there at run time, so that the executables that do
// not need them do not parse them at every start.
const LAZY_LIBS = ['winston'];
const lazyLibs = (outfile) => ({
  name: 'lazy-libs',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${LAZY_LIBS.join('|')})$`) }, (args) => ({
      path: `./${relative(dirname(outfile), join(dist, 'lib', `${args.path}.js`))}`,
      external: true,
    }));
  },
});
// ES-module-only packages (yargs) read import.meta.url, which a CommonJS bundle lacks.
const importMeta = { define: { 'import.meta.url': 'importMetaUrl' }, inject: [join(root, 'scripts/import-meta-url.cjs')] };
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, sourcemap: 'linked', legalComments: 'none', logLevel: 'warning', ...importMeta };
await Promise.all(LAZY_LIBS.map((lib) => build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(lib)});`, resolveDir: root }, outfile: join(staging, 'lib', `${lib}.js`) })));
await Promise.all(
  entries.map((e) =>
    build({
      ...common,
      plugins: [lazyLibs(join(dist, e.out))],
      entryPoints: [e.in],
      outfile: join(staging, e.out),
      banner: { js: '#!/usr/bin/env node' },
    }),
  ),
);
for (const e of entries) chmodSync(join(staging, e.out), 0o755);
const files = (dir) => readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile());
const built = new Set(files(staging));
for (const f of built) {
  mkdirSync(dirname(join(dist, f)), { recursive: true });
  renameSync(join(staging, f), join(dist, f));
}
rmSync(staging, { recursive: true, force: true });
if (!only.length) for (const f of existsSync(dist) ? files(dist) : []) if (!built.has(f)) rmSync(join(dist, f));
console.log(`build: ${entries.length} executables in dist/`);
