import type { JailInfo } from '../src/freebsd/parse/jls';
import { jailOf } from '../src/ipam/lease';
import { forgetVanishedJails } from '../src/link/known';
import { log } from '../src/log/logger';
import type { DaemonContext } from './context';

/**
 * Cleans up after vanished jails. Every `intervalSeconds` the jails are listed (`jls`); an
 * attachment's jail is the CNI_NETNS it was made for (a name or a JID), or its container ID
 * when that is unknown (runj names the jail after the container). A jail seen missing is
 * remembered with the time that check got the list; its attachments are torn down at the first
 * later check that still misses it once `graceSeconds` have passed since, by the firewall owner
 * and in its order (daemon/firewall.ts): pf rules and table entries and proxy sockets, then the
 * host interface, then leases and host ports. An attachment whose teardown stops at a failed
 * step keeps the rest until the next check. So nothing is released on one observation, a jail
 * that comes back in time keeps everything, when jls fails nothing is released, and nothing is
 * freed while something still points at it. The "missing since" times live in memory: after a
 * restart the grace period starts again.
 */

export interface ReclaimStatus {
  lastRunAt?: number;
  lastError?: string;
  missing: { jail: string; since: number; attachments: number }[];
}

export class ReclaimLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly missingSince = new Map<string, number>();
  private lastRunAt: number | undefined;
  private lastError: string | undefined;
  private lastCounts = new Map<string, number>();

  constructor(
    private readonly ctx: DaemonContext,
    private readonly listJails: () => Promise<JailInfo[]>,
  ) {}

  start(): void {
    const { intervalSeconds } = this.ctx.config.reclaim;
    if (intervalSeconds <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), intervalSeconds * 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  status(): ReclaimStatus {
    const s: ReclaimStatus = { missing: [...this.missingSince].map(([jail, since]) => ({ jail, since, attachments: this.lastCounts.get(jail) ?? 0 })) };
    if (this.lastRunAt !== undefined) s.lastRunAt = this.lastRunAt;
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  /** One check; a check already running is waited for instead. */
  runOnce(): Promise<void> {
    this.running ??= this.check().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async check(): Promise<void> {
    const startedAt = Date.now();
    let jails: JailInfo[];
    try {
      jails = await this.listJails();
    } catch (err) {
      this.lastError = (err as Error).message;
      this.ctx.metrics.reclaimErrors++;
      log.warn(`jail check skipped: cannot list jails: ${this.lastError}`);
      return;
    }
    // A jail missing from the list was gone by now (jls may have looked after startedAt): the
    // grace period counts from here, so nothing is released sooner than graceSeconds after
    // the jail went away.
    const observedAt = Date.now();
    this.lastRunAt = observedAt;
    this.lastError = undefined;
    this.ctx.metrics.reclaimRuns++;
    // What ADDs recorded about jails that are gone (src/link/known.ts) goes at once: it names the
    // JID, so it could never be taken for another jail's, and it frees nothing anyone uses.
    forgetVanishedJails(jails);
    const present = new Set<string>();
    for (const j of jails) {
      present.add(j.name);
      present.add(String(j.jid));
    }

    const byJail = new Map<string, string[]>();
    const add = (jail: string, key: string) => {
      const keys = byJail.get(jail);
      if (keys) keys.push(key);
      else byJail.set(jail, [key]);
    };
    for (const pool of this.ctx.state.networks.values()) {
      for (const [key, lease] of pool.leases) {
        // A lease made after jls started may be for a jail jls could not see yet.
        if (lease.createdAt < startedAt) add(jailOf(lease), key);
      }
    }
    for (const [key, r] of this.ctx.state.ports.reservations) add(jailOf(r), key);
    for (const [key, h] of this.ctx.state.nat.holdings) if (h.at < startedAt) add(jailOf(h), key);
    for (const [key, f] of this.ctx.state.forwards) if (f.at < startedAt) add(jailOf(f), key);
    for (const [key, h] of this.ctx.state.ingress) if (h.at < startedAt) add(jailOf(h), key);

    const { graceSeconds } = this.ctx.config.reclaim;
    const release: string[] = [];
    const releasedJails: string[] = [];
    for (const [jail, keys] of byJail) {
      if (present.has(jail)) {
        this.missingSince.delete(jail);
        continue;
      }
      const since = this.missingSince.get(jail);
      if (since === undefined) {
        this.missingSince.set(jail, observedAt);
        log.info(`jail ${jail} is gone; its ${keys.length} attachment(s) will be released after ${graceSeconds} s unless it comes back`);
      } else if (observedAt - since >= graceSeconds * 1000) {
        release.push(...new Set(keys));
        releasedJails.push(jail);
      }
    }
    for (const jail of this.missingSince.keys()) if (!byJail.has(jail)) this.missingSince.delete(jail);
    this.lastCounts = new Map([...byJail].map(([j, k]) => [j, k.length]));
    if (release.length === 0) return;

    const done = await this.ctx.firewall.teardown(release, { interfaces: true });
    const unfinished = new Set(done.failures.map((f) => f.key));
    for (const jail of releasedJails) if (!(byJail.get(jail) ?? []).some((k) => unfinished.has(k))) this.missingSince.delete(jail);
    this.ctx.metrics.releases.reclaim += done.leases.length;
    for (const f of done.forwards) log.info(`removed the port forwards of a vanished jail`, { ...f });
    for (const n of done.nat) log.info(`removed the NAT of vanished jail ${jailOf(n)}`, { network: n.network, containerID: n.containerID, ifname: n.ifname, addresses: n.addresses });
    for (const name of done.interfaces) log.info(`destroyed ${name}, the host interface of a vanished jail`);
    for (const l of done.leases) {
      log.info(`released the lease of vanished jail ${jailOf(l)}`, { network: l.network, containerID: l.containerID, ifname: l.ifname, ips: l.ips.map((ip) => ip.address) });
    }
    for (const p of done.ports) log.info(`released the host ports of vanished jail ${jailOf(p)}`, { network: p.network, containerID: p.containerID, ifname: p.ifname });
    if (done.failures.length > 0) this.ctx.metrics.reclaimErrors++;
  }
}
