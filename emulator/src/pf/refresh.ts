/**
 * CONTRACT with the other emulated tools: after a change of the host's interface addresses,
 * interfaces, groups or a pf-relevant sysctl (net.pf.filter_local, net.link.bridge.pfil_*),
 * they call refreshPf(ctx). It recompiles the loaded pf rules against the host as it is now
 * ((if) addresses follow their interface) and applies them. It is a cheap no-op when pf is
 * disabled or has no rules (one state file read, no process started), and it takes the 'pf'
 * lock itself: do not call it while holding that lock.
 */
import { type EmuContext, readState, withLock } from '../context';
import { applyState, needsRules } from './apply';
import { initialState, type PfState, STATE_FILE } from './state';

export async function refreshPf(ctx: EmuContext): Promise<void> {
  const quick = readState<PfState | null>(ctx, STATE_FILE, null);
  if (!quick || !needsRules(quick)) return;
  await withLock(ctx, 'pf', async () => {
    const state = readState<PfState>(ctx, STATE_FILE, initialState());
    await applyState(ctx, state);
  });
}
