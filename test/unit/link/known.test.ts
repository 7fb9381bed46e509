import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgetVanishedJails, known } from '../../../src/link/known';

// What ADDs remember (src/link/known.ts): by JID for jails, until the owner or the jail goes.

let dir: string;
const saved = process.env.JAILNET_RUN_DIR;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jailnet-known-'));
  process.env.JAILNET_RUN_DIR = dir;
});
afterEach(() => {
  if (saved === undefined) delete process.env.JAILNET_RUN_DIR;
  else process.env.JAILNET_RUN_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

const web = { name: 'web', jid: 7 };

test('a jail is known by name and JID: the same name with another JID knows nothing', () => {
  expect(known.loopbackReady(web)).toBe(false);
  known.setLoopbackReady(web);
  expect(known.loopbackReady(web)).toBe(true);
  expect(known.loopbackReady({ name: 'web', jid: 8 })).toBe(false);
  known.setDefaultRouteOwner(web, 4, 'jnaaa');
  expect(known.defaultRouteOwner(web, 4)).toBe('jnaaa');
  expect(known.defaultRouteOwner(web, 6)).toBeUndefined();
  expect(known.defaultRouteOwner({ name: 'web', jid: 8 }, 4)).toBeUndefined();
});

test("a default route is forgotten with its owner's host end, and only that owner's", () => {
  known.setDefaultRouteOwner(web, 4, 'jnaaa');
  known.setDefaultRouteOwner(web, 6, 'jnbbb');
  known.setDefaultRouteOwner({ name: 'db', jid: 9 }, 4, 'jnccc');
  known.forgetDefaultRoutesOf('jnaaa');
  expect(known.defaultRouteOwner(web, 4)).toBeUndefined();
  expect(known.defaultRouteOwner(web, 6)).toBe('jnbbb');
  expect(known.defaultRouteOwner({ name: 'db', jid: 9 }, 4)).toBe('jnccc');
});

test('jailnetd forgets the jails that are gone (by name and JID), and nothing else', () => {
  known.setLoopbackReady(web);
  known.setLoopbackReady({ name: 'db', jid: 9 });
  known.setDefaultRouteOwner({ name: 'db', jid: 9 }, 4, 'jnccc');
  known.setBridge('jailnet0', { gateways: ['10.88.0.1/16'], mac: '58:9c:fc:00:00:01' });
  forgetVanishedJails([{ name: 'web', jid: 7 }, { name: 'db', jid: 10 }]);
  expect(known.loopbackReady(web)).toBe(true);
  expect(known.loopbackReady({ name: 'db', jid: 9 })).toBe(false);
  expect(known.defaultRouteOwner({ name: 'db', jid: 9 }, 4)).toBeUndefined();
  expect(known.bridge('jailnet0')).toEqual({ gateways: ['10.88.0.1/16'], mac: '58:9c:fc:00:00:01' });
});

test('a bridge file that cannot be read or has the wrong shape is not known', () => {
  known.setBridge('br', { gateways: ['10.0.0.1/24'] });
  expect(known.bridge('br')).toEqual({ gateways: ['10.0.0.1/24'] });
  writeFileSync(join(dir, 'known', 'bridge.br'), '{"gateways": "10.0.0.1/24"}');
  expect(known.bridge('br')).toBeUndefined();
  writeFileSync(join(dir, 'known', 'bridge.br'), 'not json');
  expect(known.bridge('br')).toBeUndefined();
  known.forgetBridge('br');
  expect(known.bridge('br')).toBeUndefined();
});
