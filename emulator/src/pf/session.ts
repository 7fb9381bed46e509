/**
 * One pfctl invocation's view of the kernel: the pf state read once, changed by the steps
 * (-d, -F, -T, -f, -e in pfctl's order), and committed at the end (or before an early exit)
 * as FreeBSD's ioctls would have left it. Committing applies nftables first and writes the
 * state file only when nft accepted the ruleset, so the two never disagree.
 */
import { type EmuContext, readState, writeState } from '../context';
import { applyState } from './apply';
import type { HostInfo } from './hosts';
import { collectGarbage, initialState, type PfState, STATE_FILE } from './state';
import { readHostInfo } from './sys';

export class Session {
  state: PfState;
  private dirty = false;
  private hostInfo: HostInfo | undefined;
  private hostPromise: Promise<HostInfo> | undefined;

  constructor(readonly ctx: EmuContext) {
    this.state = readState<PfState>(ctx, STATE_FILE, initialState());
  }

  /** Marks the state changed (it will be committed). */
  touch(): void {
    this.dirty = true;
  }

  get changed(): boolean {
    return this.dirty;
  }

  /** The host's interfaces, read once per invocation. */
  async host(): Promise<HostInfo> {
    if (this.hostInfo) return this.hostInfo;
    this.hostPromise ??= readHostInfo(this.ctx);
    this.hostInfo = await this.hostPromise;
    return this.hostInfo;
  }

  /** The host info if it was already read (the parser asks synchronously). */
  hostSync(): HostInfo | undefined {
    return this.hostInfo;
  }

  async commit(): Promise<void> {
    if (!this.dirty) return;
    collectGarbage(this.state);
    await applyState(this.ctx, this.state, () => this.host());
    writeState(this.ctx, STATE_FILE, this.state);
    this.dirty = false;
  }
}
