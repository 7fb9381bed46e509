import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniCode } from '../../../src/cni/errors';
import { parseResolvConf, readResolvConf } from '../../../src/ipam/resolv-conf';

// host-local's resolvConf, read as the reference plugin reads it (plugins/ipam/host-local/dns.go
// parseResolvConf): trimmed lines, comments (# ;) and lines of one word skipped, the first word
// after nameserver and domain, every word after search and options, other keywords ignored.

test('nameserver, domain, search and options; comments, short lines and other keywords skipped', () => {
  const text = [
    '# written by resolvconf(8)',
    '; another comment',
    '  nameserver 192.0.2.53  ',
    'nameserver\t2001:db8::53 ignored-extra',
    'nameserver',
    'domain example.org',
    'domain second.example',
    'search a.example b.example',
    'search c.example',
    'options ndots:2 timeout:1',
    'sortlist 130.155.160.0/255.255.240.0',
    '',
  ].join('\r\n');
  expect(parseResolvConf(text)).toEqual({
    nameservers: ['192.0.2.53', '2001:db8::53'],
    domain: 'second.example',
    search: ['a.example', 'b.example', 'c.example'],
    options: ['ndots:2', 'timeout:1'],
  });
});

test('an empty file gives an empty dns', () => {
  expect(parseResolvConf('')).toEqual({});
  expect(parseResolvConf('# nothing\n\n')).toEqual({});
});

describe('readResolvConf', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jailnet-resolv-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reads a file only root can change', () => {
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 192.0.2.1\n');
    expect(readResolvConf(join(dir, 'resolv.conf'), 'ipam.resolvConf')).toEqual({ nameservers: ['192.0.2.1'] });
  });

  test('a file that does not exist fails with code 5 naming the field, as the reference does', () => {
    expect(() => readResolvConf(join(dir, 'missing.conf'), 'ipam.resolvConf')).toThrow(expect.objectContaining({ code: CniCode.IoFailure, message: expect.stringContaining('field "ipam.resolvConf"') }));
  });

  test('a file others can write is refused with code 7 and not read', () => {
    const open = join(dir, 'open.conf');
    writeFileSync(open, 'nameserver 192.0.2.66\n');
    chmodSync(open, 0o666);
    expect(() => readResolvConf(open, 'ipam.resolvConf')).toThrow(expect.objectContaining({ code: CniCode.InvalidNetworkConfig, message: expect.stringContaining('writable by other users') }));
  });
});
