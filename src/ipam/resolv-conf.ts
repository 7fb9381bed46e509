import { readFileSync } from 'node:fs';
import { CniCode, CniError } from '../cni/errors';
import type { Dns } from '../cni/types';
import { requireTrustedField } from '../config/trusted-field';

/**
 * host-local's `resolvConf`: the DNS settings of a resolv.conf(5) file for the result, read the
 * way the reference plugin reads it (plugins/ipam/host-local/dns.go): `nameserver`, `domain`,
 * `search` and `options` lines; comments (# or ;), short lines and other keywords are skipped.
 */

/** resolv.conf files are a few lines; anything larger is not one. */
const MAX_BYTES = 64 * 1024;

export function parseResolvConf(text: string): Dns {
  const dns: Dns = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [keyword, first, ...rest] = fields as [string, string, ...string[]];
    if (keyword === 'nameserver') (dns.nameservers ??= []).push(first);
    else if (keyword === 'domain') dns.domain = first;
    else if (keyword === 'search') (dns.search ??= []).push(first, ...rest);
    else if (keyword === 'options') (dns.options ??= []).push(first, ...rest);
  }
  return dns;
}

/**
 * Reads and parses the file named by `field`: a file only root can change (docs/security.md,
 * code 7 otherwise); an unreadable one fails the ADD (code 5), as in the reference.
 */
export function readResolvConf(path: string, field: string): Dns {
  requireTrustedField(path, 'config', field);
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    throw new CniError(CniCode.IoFailure, `network configuration: field "${field}": cannot read ${path}: ${(err as Error).message}`, 'name a readable resolv.conf(5) file, or leave the field out');
  }
  return parseResolvConf(text);
}
