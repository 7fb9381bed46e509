import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CniCode, CniError } from '../cni/errors';
import type { Result } from '../cni/types';
import { renderJailResolvConf, type JailResolvConf } from '../dns/resolv-conf';

/**
 * The jail's /etc/resolv.conf, written by the runj hook into the bundle's root filesystem, as
 * Docker writes a container's (docs/dns.md). The root is `root.path` of the bundle's
 * config.json (OCI runtime spec: absolute, or relative to the bundle). The image's files are
 * not trusted: `etc` must be a directory (it is made when missing) and not a symbolic link, an
 * existing resolv.conf a regular file, and the new file is written beside it (O_EXCL,
 * O_NOFOLLOW) and renamed over it, so that a link planted in the image never makes root write
 * elsewhere. At createRuntime nothing of the container runs inside the jail yet.
 */

/** What the networks' results say about DNS: every gateway (at most three), every domain, the first options. */
export function resolvConfOf(results: readonly Result[]): JailResolvConf | undefined {
  const withDns = results.filter((r) => r.dns?.nameservers?.length);
  if (withDns.length === 0) return undefined;
  const conf: JailResolvConf = { nameservers: [...new Set(withDns.flatMap((r) => r.dns?.nameservers ?? []))] };
  const search = [...new Set(withDns.flatMap((r) => r.dns?.search ?? (r.dns?.domain ? [r.dns.domain] : [])))];
  if (search.length) conf.search = search;
  const options = withDns[0]?.dns?.options;
  if (options?.length) conf.options = [...options];
  return conf;
}

/** The bundle's root filesystem, or undefined when the bundle has no config.json. */
export function bundleRoot(bundle: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(bundle, 'config.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CniError(CniCode.IoFailure, `cannot read ${join(bundle, 'config.json')}: ${(err as Error).message}`);
  }
  let path: unknown;
  try {
    path = (JSON.parse(text) as { root?: { path?: unknown } }).root?.path;
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `${join(bundle, 'config.json')} is not JSON: ${(err as Error).message}`);
  }
  if (typeof path !== 'string' || path === '') throw new CniError(CniCode.DecodingFailure, `${join(bundle, 'config.json')} has no "root.path"`);
  return isAbsolute(path) ? path : join(bundle, path);
}

export function writeJailResolvConf(root: string, conf: JailResolvConf): string {
  const fail = (what: string, fix = 'set the annotation org.jailnet.resolv-conf=false to leave the file alone') => new CniError(CniCode.IoFailure, `cannot write the jail's resolv.conf: ${what}`, fix);
  const rootSt = lstatSafe(root);
  if (!rootSt?.isDirectory()) throw fail(`the root filesystem ${root} is not a directory`, 'check root.path in the bundle\'s config.json');
  const etc = join(root, 'etc');
  let etcSt = lstatSafe(etc);
  if (!etcSt) {
    mkdirSync(etc, { mode: 0o755 });
    etcSt = lstatSafe(etc);
  }
  if (!etcSt?.isDirectory() || etcSt.isSymbolicLink()) throw fail(`${etc} is not a directory (a symbolic link is not followed)`);
  const target = join(etc, 'resolv.conf');
  const existing = lstatSafe(target);
  if (existing && !existing.isFile()) throw fail(`${target} is not a regular file (a symbolic link is not followed)`);
  const temp = join(etc, `.resolv.conf.jailnet.${process.pid}`);
  let fd: number;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    throw fail(`${temp}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, renderJailResolvConf(conf));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, target);
  } catch (err) {
    unlinkSync(temp);
    throw fail(`${target}: ${(err as Error).message}`);
  }
  return target;
}

function lstatSafe(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
