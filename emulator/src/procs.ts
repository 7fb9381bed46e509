import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmuContext } from './context';

/**
 * Processes started in a jail by jexec, recorded as empty files state/procs/<jid>/<pid> so that
 * `jail -r` can kill them also for a non-vnet jail (whose processes share the host's namespace).
 */

function dir(ctx: EmuContext, jid: number): string {
  return join(ctx.dir, 'state', 'procs', String(jid));
}

export function recordProc(ctx: EmuContext, jid: number, pid: number): void {
  mkdirSync(dir(ctx, jid), { recursive: true });
  writeFileSync(join(dir(ctx, jid), String(pid)), '');
}

export function forgetProc(ctx: EmuContext, jid: number, pid: number): void {
  rmSync(join(dir(ctx, jid), String(pid)), { force: true });
}

export function recordedProcs(ctx: EmuContext, jid: number): number[] {
  try {
    return readdirSync(dir(ctx, jid)).map(Number).filter((n) => n > 0);
  } catch {
    return [];
  }
}

export function forgetJailProcs(ctx: EmuContext, jid: number): void {
  rmSync(dir(ctx, jid), { recursive: true, force: true });
}
