import type * as Core from './core';

/**
 * core.ts, loaded on first use. Run from the sources (jest), a plain require; in the jailnet
 * executable, scripts/build.mjs replaces this module with one that, on the first call, reads
 * core.ts's bundle back from the executable's trailing comment (brotli-compressed there), inflates
 * and compiles it: the commands that do not need it skip the comment at a fraction of a
 * millisecond, where the same code as code cost about 20 ms of parsing (docs/architecture.md,
 * "Start-up cost").
 */

let core: typeof Core | undefined;

export function loadCore(): typeof Core {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (core ??= require('./core') as typeof Core);
}

/** The core if a command has loaded it (its logs to flush, its errors to report). */
export function loadedCore(): typeof Core | undefined {
  return core;
}
