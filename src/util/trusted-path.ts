import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { basename, isAbsolute, join, normalize } from 'node:path';

/**
 * May root use this path? Paths in network files and jailnetd's configuration name programs
 * root starts, directories it writes, files it appends to and sockets it trusts. A path is
 * trusted when nobody but root (or the user jailnet runs as) can have put there what it names,
 * or can change that later:
 *
 * - absolute and normal (no `.`, `..`, `//`, trailing `/`);
 * - every directory on the way is owned by root (or us) and not writable by group or others,
 *   except a sticky directory such as /tmp, whose entries only their owners can rename or
 *   remove (the next component must then be ours, which the same rule checks);
 * - a symbolic link is followed only when the directory holding it is writable by nobody else
 *   (then root made it), and its target is checked the same way;
 * - what does not exist yet (a log file, a state directory, a socket) is created only in a
 *   directory that nobody else can write, sticky or not (nobody can create it first);
 * - what exists is of the right kind, owned by root (or us), and not writable by group or
 *   others (a state directory: no group or other permission at all);
 * - a program is named `jailnetd`, a log file `*.log` (allow-lists of names: a root-owned file
 *   elsewhere, /etc/rc.conf or /bin/sh, passes every other rule).
 *
 * A root-made 0700 temp dir under /tmp passes; a world-writable one, one owned by another user
 * or a symlink someone else could change does not. docs/security.md says which field gets
 * which check.
 */

export type PathUse =
  /** jailnetd, run by the plugin that starts it: an executable regular file named `jailnetd`. */
  | 'program'
  /** jailnetd's configuration file: a regular file. */
  | 'config'
  /** A log file root appends to: `*.log`, a regular file with one link, or /dev/null; may be created. */
  | 'log'
  /** jailnetd's state directory: a directory for us only (mode 700); may be created. */
  | 'state-dir'
  /** jailnetd's socket: a socket; may be created (by the daemon) or absent (nobody listens). */
  | 'socket';

export class UntrustedPathError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    /** True when the path is refused only because what it names does not exist. */
    readonly missing = false,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'UntrustedPathError';
  }
}

export const DAEMON_PROGRAM_NAME = 'jailnetd';
const MAX_LINKS = 40;
const LOG_NAME = /[^/]\.log$/;

function trustedOwner(st: Stats): boolean {
  return st.uid === 0 || st.uid === process.geteuid?.();
}

const mode = (st: Stats) => (st.mode & 0o7777).toString(8).padStart(4, '0');
const writableByOthers = (st: Stats) => (st.mode & 0o022) !== 0;
const sticky = (st: Stats) => (st.mode & 0o1000) !== 0;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new UntrustedPathError(path, `cannot be examined (${code ?? (err as Error).message})`);
  }
}

/** Throws UntrustedPathError unless `path` may be used as `use` by root. */
export function checkTrustedPath(path: string, use: PathUse): void {
  if (!isAbsolute(path) || path.includes('\0') || normalize(path) !== path || (path.length > 1 && path.endsWith('/'))) {
    throw new UntrustedPathError(path, 'must be an absolute path without ".", ".." or "//"');
  }
  if (use === 'program' && basename(path) !== DAEMON_PROGRAM_NAME) {
    throw new UntrustedPathError(path, `must name the jailnetd executable (a file named "${DAEMON_PROGRAM_NAME}")`);
  }
  if (use === 'log' && path === '/dev/null') return;
  // A log file is named as one, so that no field can make root append to /etc/rc.conf or a key file.
  if (use === 'log' && !LOG_NAME.test(path)) throw new UntrustedPathError(path, 'a log file\'s name must end in ".log" (or be /dev/null)');
  let pending = path.split('/').filter(Boolean);
  let dir = '/';
  let dirStat = lstatSync('/');
  let links = 0;
  while (pending.length > 0) {
    if (!dirStat.isDirectory()) throw new UntrustedPathError(path, `${dir} is not a directory`);
    if (!trustedOwner(dirStat)) throw new UntrustedPathError(path, `${dir} is owned by uid ${dirStat.uid}, not by root`);
    if (writableByOthers(dirStat) && !sticky(dirStat)) throw new UntrustedPathError(path, `${dir} is writable by other users (mode ${mode(dirStat)})`);
    const name = pending[0] as string;
    const next = join(dir, name);
    const st = lstatOrUndefined(next);
    const last = pending.length === 1;
    if (st === undefined) {
      if (use === 'program' || use === 'config') throw new UntrustedPathError(path, `${next} does not exist`, true);
      // Created by root later (mkdir -p, open O_CREAT, bind): only where nobody else can create it first.
      if (writableByOthers(dirStat)) throw new UntrustedPathError(path, `${next} does not exist and ${dir} is writable by other users (mode ${mode(dirStat)}), who could create it first`);
      return;
    }
    if (st.isSymbolicLink()) {
      if (writableByOthers(dirStat)) throw new UntrustedPathError(path, `${next} is a symbolic link in ${dir}, which other users can write (mode ${mode(dirStat)})`);
      if (++links > MAX_LINKS) throw new UntrustedPathError(path, 'too many symbolic links');
      const target = readlinkSync(next);
      pending = [...(isAbsolute(target) ? target : join(dir, target)).split('/').filter(Boolean), ...pending.slice(1)];
      // normalize() resolves ".." lexically, which is right here: every directory on the way is checked again from /.
      pending = normalize(`/${pending.join('/')}`).split('/').filter(Boolean);
      dir = '/';
      dirStat = lstatSync('/');
      continue;
    }
    if (!last) {
      dir = next;
      dirStat = st;
      pending = pending.slice(1);
      continue;
    }
    checkFinal(path, next, st, use);
    return;
  }
  throw new UntrustedPathError(path, 'names the root directory');
}

function checkFinal(path: string, real: string, st: Stats, use: PathUse): void {
  const what = real === path ? path : `${path} (${real})`;
  // The names are checked again on what a symbolic link led to.
  if (use === 'program' && basename(real) !== DAEMON_PROGRAM_NAME) throw new UntrustedPathError(path, `${what} is not a file named "${DAEMON_PROGRAM_NAME}"`);
  if (use === 'log' && !LOG_NAME.test(real) && real !== '/dev/null') throw new UntrustedPathError(path, `${what}: a log file's name must end in ".log" (or be /dev/null)`);
  if (!trustedOwner(st)) throw new UntrustedPathError(path, `${what} is owned by uid ${st.uid}, not by root`);
  switch (use) {
    case 'program':
      if (!st.isFile()) throw new UntrustedPathError(path, `${what} is not a regular file`);
      if ((st.mode & 0o111) === 0) throw new UntrustedPathError(path, `${what} is not executable`);
      break;
    case 'config':
      if (!st.isFile()) throw new UntrustedPathError(path, `${what} is not a regular file`);
      break;
    case 'log':
      if (!st.isFile()) throw new UntrustedPathError(path, `${what} is not a regular file`);
      if (st.nlink !== 1) throw new UntrustedPathError(path, `${what} has ${st.nlink} hard links; a log file has one`);
      break;
    case 'state-dir':
      if (!st.isDirectory()) throw new UntrustedPathError(path, `${what} is not a directory`);
      if ((st.mode & 0o077) !== 0) throw new UntrustedPathError(path, `${what} is open to other users (mode ${mode(st)}); jailnetd's state directory is for root only: chmod 700 it if it is jailnetd's`);
      return;
    case 'socket':
      // jailnetd makes it 0600; one others may connect to is not the socket jailnetd made.
      if (!st.isSocket()) throw new UntrustedPathError(path, `${what} is not a socket`);
      break;
  }
  if (writableByOthers(st)) throw new UntrustedPathError(path, `${what} is writable by other users (mode ${mode(st)})`);
}
