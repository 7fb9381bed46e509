/**
 * Makes the host namespace's nftables match a pf state: compile, compare with what was last
 * applied, replace `table inet pf` in one nft transaction when it differs. Callers hold the
 * 'pf' lock.
 */
import { createHash } from 'node:crypto';
import { type EmuContext, readState, writeState } from '../context';
import { compileNft, emptyScript } from './compile-nft';
import type { HostInfo } from './hosts';
import { hasAnyRules, type PfState } from './state';
import { applyNft, disableBridgeNetfilter, readHostInfo, readSysctls } from './sys';

const APPLIED_FILE = 'pf-applied.json';

interface Applied {
  /** sha1 of the last script nft accepted. */
  hash?: string;
  /** br_netfilter turned off in the host namespace. */
  bridgeNf?: boolean;
}

/** True when the state needs nft rules at all (pf enabled and some rule loaded). */
export function needsRules(state: PfState): boolean {
  return state.enabled && hasAnyRules(state);
}

/** Compiles `state` for the host as it is now and applies it if it changed. */
export async function applyState(ctx: EmuContext, state: PfState, host?: () => Promise<HostInfo>): Promise<void> {
  const applied = readState<Applied>(ctx, APPLIED_FILE, {});
  let script: string;
  if (!needsRules(state)) {
    if (applied.hash === undefined) return; // nothing was ever applied
    script = emptyScript();
  } else {
    const info = host ? await host() : await readHostInfo(ctx);
    script = compileNft({ state, host: info, filterLocal: readSysctls(ctx).filterLocal });
  }
  const hash = createHash('sha1').update(script).digest('hex');
  if (applied.hash === hash) return;
  if (needsRules(state) && !applied.bridgeNf) {
    await disableBridgeNetfilter(ctx);
    applied.bridgeNf = true;
  }
  await applyNft(ctx, script);
  applied.hash = hash;
  writeState(ctx, APPLIED_FILE, applied);
}
