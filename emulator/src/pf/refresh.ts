import type { EmuContext } from '../context';

/**
 * Placeholder of the pf refresh hook (see emulator/src/pf-hook.ts): the emulated pf replaces
 * this file with the real recompilation. Until then there is no pf state to refresh.
 */
export async function refreshPf(_ctx: EmuContext): Promise<void> {
  /* no pf rules yet */
}
