import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Builds test/interop/libcni-client (a CNI runtime on libcni, from Debian's
 * golang-github-appc-cni-dev sources) once per machine and returns its path.
 */
const SOURCE = join(__dirname, '../interop/libcni-client/main.go');
const GOPATH = '/usr/share/gocode';

export function libcniClient(): string {
  const out = join(tmpdir(), 'jailnet-libcni-client');
  if (existsSync(out) && statSync(out).mtimeMs > statSync(SOURCE).mtimeMs) return out;
  if (!existsSync(join(GOPATH, 'src/github.com/containernetworking/cni/libcni'))) {
    throw new Error('libcni sources missing: apt-get install golang-go golang-github-appc-cni-dev (scripts/install-deps.sh does)');
  }
  const cache = join(tmpdir(), 'jailnet-gocache');
  mkdirSync(cache, { recursive: true });
  execFileSync('go', ['build', '-o', `${out}.${process.pid}.tmp`, '.'], {
    cwd: join(__dirname, '../interop/libcni-client'),
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: cache, GOFLAGS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  renameSync(`${out}.${process.pid}.tmp`, out);
  return out;
}
