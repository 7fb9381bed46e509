/**
 * Makes the host namespace's nftables match the pf state, with a group commit: pfctl changes
 * the state file under the 'pf' lock (fast), then calls ensureApplied(version), which takes
 * the 'pf-apply' lock and compiles and applies the *latest* state unless a concurrent pfctl
 * already applied a version at least as new. A burst of 50 pfctl calls thus costs a few nft
 * transactions, not 50, and every pfctl returns only once its change is in nftables.
 *
 * Each application compiles against the host as it is at that moment (interfaces read under
 * the apply lock) and replaces pf's nft tables in one nft transaction; an unchanged script is
 * not re-applied.
 */
import { createHash } from 'node:crypto';
import { type EmuContext, readState, withLock, writeState } from '../context';
import { compileNft, emptyScript, hairpinPorts } from './compile-nft';
import { hasAnyRules, initialState, type PfState, STATE_FILE } from './state';
import type { HostInfo } from './hosts';
import { applyNft, readHostInfo, readSysctls, setBridgeNetfilter, setHairpin } from './sys';

const APPLIED_FILE = 'pf-applied.json';
export const APPLY_LOCK = 'pf-apply';

interface Applied {
  /** Version of the state last applied. */
  version?: number;
  /** sha1 of the last script nft accepted. */
  hash?: string;
  /** br_netfilter's bridge-nf-call-* as last set in the host namespace (unset: the namespace's default). */
  bridgeNf?: boolean;
  /** Some bridge port may be in hairpin mode (set for the rules, cleared when they go). */
  hairpin?: boolean;
}

/** True when the state needs nft rules at all (pf enabled and some rule loaded). */
export function needsRules(state: PfState): boolean {
  return state.enabled && hasAnyRules(state);
}

/** Compiles `state` for the host as it is now and applies it if the script changed. Hold APPLY_LOCK. */
async function applyLocked(ctx: EmuContext, state: PfState): Promise<void> {
  const applied = readState<Applied>(ctx, APPLIED_FILE, {});
  let script: string;
  let bridgeNf = false;
  let host: HostInfo | undefined;
  if (!needsRules(state)) script = emptyScript();
  else {
    const { bridge } = readSysctls(ctx);
    bridgeNf = bridge.member || bridge.bridge;
    host = await readHostInfo(ctx);
    script = compileNft({ state, host, bridge });
  }
  if (needsRules(state) && applied.bridgeNf !== bridgeNf) {
    await setBridgeNetfilter(ctx, bridgeNf);
    applied.bridgeNf = bridgeNf;
  }
  // Hairpin mode only while the bridge table guards it: switched on after the rules are in
  // place, off before they go.
  const hairpin = host || applied.hairpin ? await hairpinChanges(ctx, host) : [];
  await setHairpin(ctx, hairpin.filter((c) => !c.on));
  const hash = createHash('sha1').update(script).digest('hex');
  if (applied.hash !== hash && !(applied.hash === undefined && !needsRules(state))) {
    await applyNft(ctx, script);
    applied.hash = hash;
  }
  await setHairpin(ctx, hairpin.filter((c) => c.on));
  if (host || applied.hairpin) applied.hairpin = !!host && hairpinPorts(host).length > 0;
  applied.version = state.version ?? 0;
  writeState(ctx, APPLIED_FILE, applied);
}

/** The bridge ports whose hairpin mode must change: on for `host`'s ports, off everywhere without rules. */
async function hairpinChanges(ctx: EmuContext, host: HostInfo | undefined): Promise<Array<{ dev: string; on: boolean }>> {
  const now = host ?? (await readHostInfo(ctx));
  const wanted = new Set(host ? hairpinPorts(host) : []);
  return now.ifaces.filter((i) => i.bridge && !!i.hairpin !== wanted.has(i.dev)).map((i) => ({ dev: i.dev, on: wanted.has(i.dev) }));
}

/** Returns once nftables reflects state version `version` (or a newer one). */
export async function ensureApplied(ctx: EmuContext, version: number): Promise<void> {
  await withLock(ctx, APPLY_LOCK, async () => {
    const applied = readState<Applied>(ctx, APPLIED_FILE, {});
    if ((applied.version ?? -1) >= version) return;
    await applyLocked(ctx, readState<PfState>(ctx, STATE_FILE, initialState()));
  });
}

/** Recompiles the current state against the host as it is now (refreshPf). */
export async function reapply(ctx: EmuContext): Promise<void> {
  await withLock(ctx, APPLY_LOCK, async () => {
    await applyLocked(ctx, readState<PfState>(ctx, STATE_FILE, initialState()));
  });
}
