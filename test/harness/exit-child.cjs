// A process that creates an emulated host, with a jail, a world server and a program running in
// the jail, prints what it made as one JSON line, and ends without calling destroy(): with
// process.exit() (argument "exit") or an uncaught error ("throw"). test/emulator/harness.test.ts
// runs it to check the harness's cleanup on process exit.
//
// The harness is TypeScript: .ts files are compiled on require with esbuild, as jest's transform
// (scripts/jest-transform.cjs) does.
'use strict';
const { readFileSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const { transformSync } = require('esbuild');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: filename });
  module._compile(code, filename);
};

const { createEmulatedHost } = require('./emulated-host.ts');

async function main(mode) {
  const host = await createEmulatedHost();
  await host.createJail('left');
  const server = await host.startWorldServer({ proto: 'tcp', port: 7100 });
  const jexec = host.spawnInJail('left', ['/bin/sleep', '60']);
  await new Promise((r) => setTimeout(r, 300));
  const prefix = host.hostNs.slice(0, -1);
  const namespaces = execFileSync('/usr/sbin/ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n && n.startsWith(prefix));
  const nsPids = namespaces.flatMap((ns) => execFileSync('/usr/sbin/ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number));
  const info = { prefix, dir: host.dir, namespaces, pids: [server.process.pid, jexec.pid, ...nsPids] };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  if (mode === 'throw') throw new Error('exit-child: failing on purpose without destroy()');
  process.exit(0);
}

main(process.argv[2] || 'exit');
