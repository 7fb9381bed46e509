#!/usr/bin/env node
// Bundles every executable into dist/: one self-contained file each (winston included, loaded
// only when something is logged), so that a plugin's start-up reads one file and resolves no
// modules, and a copy of it runs anywhere. Run after gen-validators.mjs.
//   plugins/<name>.ts            -> dist/cni/<name>          (CNI plugins, named by CNI type; each
//                                                             src/cni/launcher.ts + the plugin)
//   src/cli/main.ts              -> dist/bin/jailnet
//   daemon/main.ts               -> dist/bin/jailnetd
//   emulator/bin/<tool>.ts       -> dist/emulator/<tool>.js  (emulated FreeBSD host)
//   test/fixtures/plugins/<n>.ts -> dist/test/cni/<n>        (test-only plugins)
// and the shipped executables again, without the test switches (src/util/test-switches.ts):
//   plugins, jailnet, jailnetd   -> dist/release/{cni,bin}/  (package.json "bin" and "files")
// dist/ outside release/ is what the tests, the demo and the benches run.
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';
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

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, sourcemap: 'linked', legalComments: 'none', logLevel: 'warning', define: {} };
// winston, loaded only when something is logged, travels inside each executable, compressed,
// as a string that is inflated and compiled on the first message: as code, its 150 kB cost
// every start ~5 ms of parsing even when it never ran; as a 40 kB string, a fraction of a
// millisecond (docs/architecture.md "Start-up cost"). A copy of an executable (jailnet plugins
// install) needs no other file.
const pack = (code) => brotliCompressSync(Buffer.from(code), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }).toString('base64');
// Code an executable carries but runs only on demand (a plugin behind its launcher, jailnet's
// core) travels at the end of the executable as one block comment, and is read back from the
// file when it is needed. At every start V8 skips a comment at a fraction of a millisecond for
// 200 kB, where it pre-parses code at about 5 ms (a plugin's VERSION paid a fifth of a bare Node
// start so) and scans a string literal of it at about 2 ms; unlike a compressed string it needs
// no zlib, whose loading and inflating cost every ADD about 3 ms (docs/performance.md). Minified
// code keeps no comments; a bundle with "*/" in a literal would end the comment, so it stops the
// build.
const EMBED_MARK = 'jailnet-embedded-code';
const embedComment = (code, what) => {
  if (code.includes('*/')) throw new Error(`${what}: the bundle contains "*/", which would end the comment it travels in`);
  return `/*${EMBED_MARK}\n${code}*/`;
};
// The lines that run code as a CommonJS module with the caller's require, __filename and
// __dirname; its exports end in `m.exports`.
const runCode = (label) => [
  `  const m = { exports: {} };`,
  `  require('node:vm').compileFunction(code, ['module', 'exports', 'require', '__filename', '__dirname'], { filename: __filename + ' (${label})' })(m, m.exports, require, __filename, __dirname);`,
];
// ... and the lines that first read it back from this executable's trailing comment.
// With `packed`, what the comment holds is pack()'s base64 of the code.
const runEmbedded = (label, { packed = false } = {}) => [
  `  const text = require('node:fs').readFileSync(__filename, 'utf8');`,
  // The mark put together at run time: as one literal, minified into the launcher's own code,
  // it would be found there in a copy whose comment a tool stripped.
  `  const start = text.lastIndexOf(['/', '*', ${JSON.stringify(`${EMBED_MARK}\n`)}].join(''));`,
  `  const end = start < 0 ? -1 : text.indexOf('*/', start);`,
  `  if (end < 0) throw new Error(__filename + ': the ${label} code at the end of this file is missing or cut short: install the executable again');`,
  packed
    ? `  const code = require('node:zlib').brotliDecompressSync(Buffer.from(text.slice(start + ${EMBED_MARK.length + 3}, end), 'base64')).toString('utf8');`
    : `  const code = text.slice(start + ${EMBED_MARK.length + 3}, end);`,
  ...runCode(label),
];
const winstonCode = (await build({ ...common, sourcemap: false, write: false, stdin: { contents: 'module.exports = require("winston");', resolveDir: root }, outfile: 'winston.js' })).outputFiles[0].text;
// etcd3 (the etcd v3 client, gRPC), only jailnetd imports it and only for a cluster network
// (docs/cluster.md): embedded the same way, so that a host without cluster networks neither
// loads nor parses its ~1 MB. etcd3 reads its .proto files from beside its own file at load
// time; the build reads them once and hands the client the parsed descriptor instead
// (proto-loader's fromJSON), so that the executable needs no file beside it.
const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');
const etcdProtoRoot = new protobuf.Root();
etcdProtoRoot.resolvePath = (_origin, target) => join(dirname(require.resolve('etcd3/package.json')), 'proto', basename(target));
etcdProtoRoot.loadSync('rpc.proto', { keepCase: true });
const etcdDescriptor = JSON.stringify(etcdProtoRoot.toJSON());
const etcdProtoFromDescriptor = {
  name: 'etcd3-proto-descriptor',
  setup(b) {
    b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const call = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,';
      if (!src.includes(call)) throw new Error(`${args.path}: the loadSync call of rpc.proto changed; update scripts/build.mjs`);
      return { contents: src.replace(call, `(0, proto_loader_1.fromJSON)(${etcdDescriptor},`), loader: 'js' };
    });
  },
};
const etcd3Code = (await build({ ...common, sourcemap: false, write: false, plugins: [etcdProtoFromDescriptor], stdin: { contents: 'module.exports = require("etcd3");', resolveDir: root }, outfile: 'etcd3.js' })).outputFiles[0].text;
const packed = { winston: pack(winstonCode), etcd3: pack(etcd3Code) };
const embedPacked = {
  name: 'embed-packed',
  setup(b) {
    b.onResolve({ filter: /^(winston|etcd3)$/ }, (args) => ({ path: args.path, namespace: 'embedded' }));
    b.onLoad({ filter: /.*/, namespace: 'embedded' }, (args) => ({
      contents: [
        `const code = require('node:zlib').brotliDecompressSync(Buffer.from(${JSON.stringify(packed[args.path])}, 'base64')).toString('utf8');`,
        `const m = { exports: {} };`,
        `new Function('module', 'exports', 'require', '__filename', '__dirname', code)(m, m.exports, require, __filename, __dirname);`,
        `module.exports = m.exports;`,
      ].join('\n'),
      loader: 'js',
    }));
  },
};
// jailnet's commands that change the host (src/cli/core.ts, with every plugin it runs in its
// process) travel in the jailnet executable's trailing comment too, compiled on first use: as
// code, their parsing cost every `jailnet ps` or `--help` about 20 ms (src/cli/core-loader.ts).
// Compressed there: most jailnet starts (the hook's thin client, ps, network ls, --help) never
// load the core, and for them reading 140 kB instead of 480 kB of file is worth more than the
// ~3 ms that inflating costs the rest. Built once per variant (test switches or not).
const coreCode = new Map();
const coreBundle = async (testSwitches) => {
  if (!coreCode.has(testSwitches)) {
    const out = await build({ ...common, sourcemap: false, write: false, define: { ...common.define, 'globalThis.JAILNET_TEST_SWITCHES': String(testSwitches) }, plugins: [embedPacked], entryPoints: [join(root, 'src/cli/core.ts')], outfile: 'core.js' });
    coreCode.set(testSwitches, pack(out.outputFiles[0].text));
  }
  return coreCode.get(testSwitches);
};
const embedCore = {
  name: 'embed-core',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]cli[\\/]core-loader\.ts$/ }, () => ({
      contents: [
        `let core;`,
        `exports.loadCore = () => {`,
        `  if (core) return core;`,
        ...runEmbedded('core', { packed: true }),
        `  return (core = m.exports);`,
        `};`,
        `exports.loadedCore = () => core;`,
      ].join('\n'),
      loader: 'js',
    }));
  },
};
const SHIPPED = /^(cni|bin)\//;
const builds = [
  ...entries.map((e) => ({ ...e, testSwitches: true })),
  ...entries.filter((e) => SHIPPED.test(e.out)).map((e) => ({ ...e, out: join('release', e.out), testSwitches: false })),
];
// A shipped plugin (plugins/<name>.ts) is alike: the executable is src/cni/launcher.ts, which
// answers VERSION by itself, with the plugin's whole bundle in its trailing comment, compiled
// for the other commands.
// Only plugins/ at the top: the test fixtures' plugins (test/fixtures/plugins) stay plain bundles,
// the dispatcher-only baseline the start-up benches compare with.
const shippedPlugin = (file) => (dirname(file) === join(root, 'plugins') ? basename(file, '.ts') : undefined);
const pluginLauncher = (e) => {
  const name = shippedPlugin(e.in);
  return {
    contents: [`import { launch } from './src/cni/launcher';`, `launch(${JSON.stringify(name)}, () => {`, ...runEmbedded('plugin'), `});`].join('\n'),
    resolveDir: root,
    sourcefile: `plugins/${name}.ts (launcher)`,
    loader: 'ts',
  };
};
// What an executable carries in its trailing comment: jailnet its core, a plugin itself.
const embeddedCode = async (e) => {
  if (e.out.endsWith('bin/jailnet')) return embedComment(await coreBundle(e.testSwitches), e.out);
  if (!shippedPlugin(e.in)) return undefined;
  const define = { ...common.define, 'globalThis.JAILNET_TEST_SWITCHES': String(e.testSwitches) };
  const inner = await build({ ...common, sourcemap: false, write: false, define, plugins: [embedPacked], entryPoints: [e.in], outfile: 'plugin.js' });
  return embedComment(inner.outputFiles[0].text, e.out);
};
await Promise.all(
  builds.map(async (e) => {
    const embedded = await embeddedCode(e);
    return build({
      ...common,
      define: { ...common.define, 'globalThis.JAILNET_TEST_SWITCHES': String(e.testSwitches) },
      plugins: e.out.endsWith('bin/jailnet') ? [embedPacked, embedCore] : [embedPacked],
      ...(shippedPlugin(e.in) ? { stdin: pluginLauncher(e) } : { entryPoints: [e.in] }),
      outfile: join(staging, e.out),
      // The mark lets `jailnet` recognise its own plugins in CNI_PATH and run them in its process
      // (PLUGIN_MARK, src/freebsd/plugin-exec.ts).
      banner: { js: e.out.split('/').includes('cni') ? '#!/usr/bin/env node\n// jailnet CNI plugin' : '#!/usr/bin/env node' },
      ...(embedded ? { footer: { js: embedded } } : {}),
    });
  }),
);
for (const e of builds) chmodSync(join(staging, e.out), 0o755);
const files = (dir) => readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile());
const built = new Set(files(staging));
for (const f of built) {
  mkdirSync(dirname(join(dist, f)), { recursive: true });
  renameSync(join(staging, f), join(dist, f));
}
rmSync(staging, { recursive: true, force: true });
if (!only.length) {
  for (const f of existsSync(dist) ? files(dist) : []) if (!built.has(f)) rmSync(join(dist, f));
  // Directories left empty (dist/lib/ of older builds).
  for (const d of readdirSync(dist, { recursive: true }).map(String).sort().reverse()) {
    if (statSync(join(dist, d)).isDirectory() && readdirSync(join(dist, d)).length === 0) rmSync(join(dist, d), { recursive: true });
  }
}
console.log(`build: ${builds.length} executables in dist/ (${builds.filter((e) => !e.testSwitches).length} of them in dist/release/, without test switches)`);
