/**
 * One pfctl invocation's view of the kernel: the pf state read once, changed by the steps
 * (-d, -F, -T, -f, -e in pfctl's order), and saved at the end (also after a step failed, as
 * FreeBSD's ioctls before it took effect). Saving bumps the state's version; the caller then
 * waits for nftables to reflect it (apply.ts ensureApplied).
 */
import { type EmuContext, readState, writeState } from '../context';
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

  /** Marks the state changed (it will be saved). */
  touch(): void {
    this.dirty = true;
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

  /** Writes the state if it changed; returns its new version (undefined when unchanged). */
  save(): number | undefined {
    if (!this.dirty) return undefined;
    collectGarbage(this.state);
    this.state.version = (this.state.version ?? 0) + 1;
    writeState(this.ctx, STATE_FILE, this.state);
    this.dirty = false;
    return this.state.version;
  }
}
