import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTrustedPath, UntrustedPathError, type PathUse } from '../../../src/util/trusted-path';

// What a network file or jailnetd's configuration may name (docs/security.md). Runs as root
// (the suites do), so that it can make files of another user.

const NOBODY = 65534;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jailnet-trust-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const refused = (path: string, use: PathUse) => {
  try {
    checkTrustedPath(path, use);
  } catch (err) {
    expect(err).toBeInstanceOf(UntrustedPathError);
    return (err as Error).message;
  }
  throw new Error(`${path} was accepted as ${use}`);
};

function program(at: string, mode = 0o755): string {
  mkdirSync(at, { recursive: true });
  const file = join(at, 'jailnetd');
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, mode);
  return file;
}

describe('a root-made 0700 temp dir under /tmp passes, with /tmp sticky and world-writable above it', () => {
  test('every use', () => {
    const bin = program(join(dir, 'bin'));
    writeFileSync(join(dir, 'jailnetd.json'), '{}');
    mkdirSync(join(dir, 'state'), { mode: 0o700 });
    expect(() => checkTrustedPath(bin, 'program')).not.toThrow();
    expect(() => checkTrustedPath(join(dir, 'jailnetd.json'), 'config')).not.toThrow();
    expect(() => checkTrustedPath(join(dir, 'state'), 'state-dir')).not.toThrow();
    expect(() => checkTrustedPath(join(dir, 'new-state', 'sub'), 'state-dir')).not.toThrow();
    expect(() => checkTrustedPath(join(dir, 'logs', 'jailnetd.log'), 'log')).not.toThrow();
    expect(() => checkTrustedPath(join(dir, 'run', 'jailnetd.sock'), 'socket')).not.toThrow();
    expect(() => checkTrustedPath('/dev/null', 'log')).not.toThrow();
  });
});

describe('refused, with the reason', () => {
  test('paths that are not plain absolute paths', () => {
    for (const p of ['relative/jailnetd', `${dir}/../x/jailnetd`, `${dir}//jailnetd`, `${dir}/./jailnetd`, `${dir}/`]) expect(refused(p, 'program')).toMatch(/absolute path without/);
  });

  test('a program not named jailnetd, not executable, writable by others, or missing', () => {
    expect(refused('/bin/sh', 'program')).toMatch(/must name the jailnetd executable/);
    expect(refused(program(join(dir, 'a'), 0o644), 'program')).toMatch(/is not executable/);
    expect(refused(program(join(dir, 'b'), 0o757), 'program')).toMatch(/writable by other users \(mode 0757\)/);
    expect(refused(join(dir, 'c', 'jailnetd'), 'program')).toMatch(/does not exist/);
    const theirs = program(join(dir, 'd'));
    chownSync(theirs, NOBODY, NOBODY);
    expect(refused(theirs, 'program')).toMatch(/owned by uid 65534, not by root/);
  });

  test('anything under a world-writable directory that is not sticky, or under another user\'s directory', () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(refused(program(join(open, 'bin')), 'program')).toMatch(/open is writable by other users \(mode 0777\)/);
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs);
    chownSync(theirs, NOBODY, NOBODY);
    expect(refused(join(theirs, 'jailnetd.log'), 'log')).toMatch(/theirs is owned by uid 65534/);
  });

  test('creating something in a sticky world-writable directory (someone could create it first)', () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    expect(refused(join(shared, 'jailnetd.log'), 'log')).toMatch(/does not exist and .*shared is writable by other users \(mode 1777\), who could create it first/);
    expect(refused(join(shared, 'run', 'jailnetd.sock'), 'socket')).toMatch(/who could create it first/);
    // Something root made there already is fine: only its owner may rename or remove it.
    mkdirSync(join(shared, 'mine'), { mode: 0o700 });
    expect(() => checkTrustedPath(join(shared, 'mine', 'jailnetd.log'), 'log')).not.toThrow();
  });

  test('symbolic links: followed where only root can have made them, and the target checked too', () => {
    const real = program(join(dir, 'real'));
    symlinkSync(real, join(dir, 'jailnetd'));
    expect(() => checkTrustedPath(join(dir, 'jailnetd'), 'program')).not.toThrow();
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    symlinkSync(real, join(open, 'jailnetd'));
    expect(refused(join(open, 'jailnetd'), 'program')).toMatch(/is a symbolic link in .*open, which other users can write/);
    const loose = program(join(dir, 'loose'), 0o777);
    mkdirSync(join(dir, 'to-loose'));
    symlinkSync(loose, join(dir, 'to-loose', 'jailnetd'));
    expect(refused(join(dir, 'to-loose', 'jailnetd'), 'program')).toMatch(/\(.*loose\/jailnetd\) is writable by other users/);
    symlinkSync('/etc/passwd', join(dir, 'evil.log'));
    expect(refused(join(dir, 'evil.log'), 'log')).toMatch(/must end in ".log"|is not/);
  });

  test('log files: named *.log, one link, not a directory', () => {
    expect(refused('/etc/passwd', 'log')).toMatch(/must end in ".log"/);
    writeFileSync(join(dir, 'a.log'), '');
    linkSync(join(dir, 'a.log'), join(dir, 'b.log'));
    expect(refused(join(dir, 'b.log'), 'log')).toMatch(/has 2 hard links/);
    mkdirSync(join(dir, 'd.log'));
    expect(refused(join(dir, 'd.log'), 'log')).toMatch(/is not a regular file/);
  });

  test('a state directory open to others is not taken over (it would have been chmod-ed)', () => {
    mkdirSync(join(dir, 'state'), { mode: 0o755 });
    chmodSync(join(dir, 'state'), 0o755);
    expect(refused(join(dir, 'state'), 'state-dir')).toMatch(/open to other users \(mode 0755\).*chmod 700/);
    expect(refused('/etc', 'state-dir')).toMatch(/open to other users/);
  });

  test('a socket that is not one, is another user\'s, or that others may connect to', async () => {
    writeFileSync(join(dir, 'file.sock'), '');
    expect(refused(join(dir, 'file.sock'), 'socket')).toMatch(/is not a socket/);
    const path = join(dir, 'jailnetd.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      chmodSync(path, 0o600);
      expect(() => checkTrustedPath(path, 'socket')).not.toThrow();
      chmodSync(path, 0o666);
      expect(refused(path, 'socket')).toMatch(/is writable by other users \(mode 0666\)/);
      chmodSync(path, 0o600);
      chownSync(path, NOBODY, NOBODY);
      expect(refused(path, 'socket')).toMatch(/is owned by uid 65534, not by root/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
