import { join } from 'node:path';
import { isHeld, tryLock, type HeldLock } from '../../util/file-lock';

/**
 * One daemon per state directory: `<stateDir>/lock`, the project's one lock (util/file-lock.ts:
 * O_EXCL, the owner's PID and start time). A lock left by a daemon that was killed, or naming a
 * PID that another process got since, is taken over; a live owner makes the second daemon stop.
 */

export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`${path} is held by process ${pid}: another jailnetd uses this state directory`);
    this.name = 'LockHeldError';
  }
}

export type StateLock = HeldLock;

const RETRY_MS = 25;
/** How long a lock file still being written (no PID yet) is waited for. */
const MAX_WAIT_MS = 10_000;

export async function acquireStateLock(dir: string): Promise<StateLock> {
  const path = join(dir, 'lock');
  const deadline = Date.now() + MAX_WAIT_MS;
  for (;;) {
    const r = await tryLock(path);
    if (isHeld(r)) return r;
    if (r.alive && r.owner.pid !== 0) throw new LockHeldError(path, r.owner.pid);
    if (Date.now() > deadline) throw new Error(`could not take ${path}: it is being written or taken over by another process (${path}.break); remove both if no jailnetd runs`);
    await new Promise((res) => setTimeout(res, RETRY_MS));
  }
}
