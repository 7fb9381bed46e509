import type * as Core from './core';

/**
 * core.ts, loaded on first use. Run from the sources (jest), a plain require; in the jailnet
 * executable, scripts/build.mjs replaces this module with one that compiles core.ts's bundle,
 * embedded as a string, on the first call: a string costs the start-up of the commands that do
 * not need it a fraction of a millisecond to read, where the same code as code cost about 20 ms
 * of parsing (docs/architecture.md, "Start-up cost").
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
