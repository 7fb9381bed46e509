import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { socketAnswers } from '../src/ipam/autostart';
import { dirname } from 'node:path';

/**
 * The unix socket: created 0600 (root only) in a directory created 0700 when missing. A socket
 * file left by a daemon that was killed is removed; one that answers belongs to a running
 * daemon, and this one stops instead of taking it over.
 */

export async function listenOnSocket(server: Server, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let existing;
  try {
    existing = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing) {
    if (!existing.isSocket()) throw new Error(`${path} exists and is not a socket; remove it or choose another --socket`);
    if (await socketAnswers(path)) throw new Error(`another jailnetd answers on ${path}`);
    unlinkSync(path);
  }
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o600);
}
