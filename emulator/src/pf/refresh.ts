/**
 * CONTRACT with the other emulated tools: after a change of the host's interface addresses,
 * interfaces, groups or a pf-relevant sysctl (net.pf.filter_local, net.link.bridge.pfil_*),
 * they call refreshPf(ctx). It recompiles the loaded pf rules against the host as it is now
 * ((if) addresses follow their interface) and applies them. It is a cheap no-op when pf is
 * disabled or has no rules (one state file read, no process started). It takes the emulator
 * lock 'pf-apply' itself, never 'pf', so callers may hold their own locks.
 */
import { type EmuContext, readState } from '../context';
import { needsRules, reapply } from './apply';
import { type PfState, STATE_FILE } from './state';

export async function refreshPf(ctx: EmuContext): Promise<void> {
  const state = readState<PfState | null>(ctx, STATE_FILE, null);
  if (!state || !needsRules(state)) return;
  await reapply(ctx);
}
