import type { IpamState } from '../src/ipam/state';
import type { StoreStats } from '../src/ipam/store/store';

/**
 * Counters kept while serving, and the Prometheus text exposition (format 0.0.4) of them plus
 * gauges read from the state at scrape time.
 */

export type ReleaseCause = 'del' | 'gc' | 'reclaim';

export class Metrics {
  readonly startedAt = Date.now();
  private readonly requests = new Map<string, number>();
  private readonly inProcessRequests = new Map<string, number>();
  private readonly requestSeconds = new Map<string, { sum: number; count: number }>();
  allocations = 0;
  private readonly refusals = new Map<string, number>();
  readonly releases: Record<ReleaseCause, number> = { del: 0, gc: 0, reclaim: 0 };
  reclaimRuns = 0;
  reclaimErrors = 0;
  configChanges = 0;

  /** A request answered: over the socket (HTTP), or in-process (a hook chain this daemon runs). */
  request(route: string, status: number, seconds: number, transport: 'http' | 'in-process' = 'http'): void {
    const counts = transport === 'http' ? this.requests : this.inProcessRequests;
    const key = `${route}\u0000${status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const s = this.requestSeconds.get(route) ?? { sum: 0, count: 0 };
    s.sum += seconds;
    s.count++;
    this.requestSeconds.set(route, s);
  }

  refusal(reason: string): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  render(state: IpamState, store: StoreStats, proxySockets = 0, dns: { outcomes: ReadonlyMap<string, number>; listening: number } = { outcomes: new Map(), listening: 0 }): string {
    const out: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${formatValue(value)}`);
    };
    const nets = [...state.networks.values()];
    metric('jailnetd_up', 'gauge', 'Whether jailnetd is serving (always 1 when scraped).', [[{}, 1]]);
    metric('jailnetd_start_time_seconds', 'gauge', 'Start time of the daemon since the epoch.', [[{}, this.startedAt / 1000]]);
    metric('jailnetd_leases', 'gauge', 'Leases held, by network.', nets.map((n) => [{ network: n.name }, n.leases.size]));
    metric('jailnetd_pool_capacity_addresses', 'gauge', 'Addresses a range set can hand out.', nets.flatMap((n) => n.sets.map((s, i): [Record<string, string>, number] => [{ network: n.name, range_set: String(i) }, Number(s.capacity)])));
    metric('jailnetd_pool_free_addresses', 'gauge', 'Addresses a range set can still hand out.', nets.flatMap((n) => n.sets.map((s, i): [Record<string, string>, number] => [{ network: n.name, range_set: String(i) }, Number(s.freeCount)])));
    metric('jailnetd_out_of_range_leases', 'gauge', 'Leases whose addresses the current ranges of their network cannot hand out.', nets.map((n) => [{ network: n.name }, n.outOfRangeLeases().length]));
    metric('jailnetd_port_reservations', 'gauge', 'Host-port reservation entries.', [[{}, state.ports.entryCount]]);
    metric('jailnetd_nat_memberships', 'gauge', 'Attachments with addresses in a network\'s NAT.', [[{}, state.nat.holdings.size]]);
    metric('jailnetd_port_forwards', 'gauge', 'Attachments with published ports.', [[{}, state.forwards.size]]);
    metric('jailnetd_proxy_sockets', 'gauge', 'Listening sockets of the userland proxy.', [[{}, proxySockets]]);
    metric('jailnetd_dns_listening_addresses', 'gauge', 'Gateway addresses the DNS server listens on.', [[{}, dns.listening]]);
    metric('jailnetd_dns_queries_total', 'counter', 'DNS queries, by outcome (local: answered from the names; forwarded; refused: not from a jail of the network, or a zone transfer; ratelimited: dropped; malformed; servfail: no upstream answered; notimp).', [...dns.outcomes].map(([outcome, v]) => [{ outcome }, v]));
    metric('jailnetd_allocations_total', 'counter', 'Leases created.', [[{}, this.allocations]]);
    metric('jailnetd_request_refusals_total', 'counter', 'Requests refused, by reason (the error reasons of the API).', [...this.refusals].map(([reason, v]) => [{ reason }, v]));
    metric('jailnetd_releases_total', 'counter', 'Leases released, by cause (del: CNI DEL, gc: CNI GC, reclaim: jail gone).', Object.entries(this.releases).map(([cause, v]) => [{ cause }, v]));
    metric('jailnetd_config_changes_total', 'counter', 'Changes of a network\'s ranges.', [[{}, this.configChanges]]);
    metric('jailnetd_reclaim_runs_total', 'counter', 'Checks of leases against jls.', [[{}, this.reclaimRuns]]);
    metric('jailnetd_reclaim_errors_total', 'counter', 'Checks that could not list the jails.', [[{}, this.reclaimErrors]]);
    metric('jailnetd_journal_commits_total', 'counter', 'Journal write+fsync operations (each carries one batch of changes).', [[{}, store.commits]]);
    metric('jailnetd_journal_records_total', 'counter', 'Records written to the journal.', [[{}, store.recordsWritten]]);
    metric('jailnetd_journal_commit_seconds_total', 'counter', 'Time spent writing and fsyncing the journal.', [[{}, store.commitSeconds]]);
    metric('jailnetd_journal_records', 'gauge', 'Records in the current journal (a snapshot is taken when it grows too long).', [[{}, store.journalRecords]]);
    metric('jailnetd_journal_bytes', 'gauge', 'Size of the current journal.', [[{}, store.journalBytes]]);
    metric('jailnetd_http_requests_total', 'counter', 'HTTP requests, by route and status.', [...this.requests].map(([k, v]) => {
      const [route, status] = k.split('\u0000');
      return [{ route: route ?? '', status: status ?? '' }, v];
    }));
    metric('jailnetd_in_process_requests_total', 'counter', 'Requests of the hook chains jailnetd runs, answered without HTTP, by route and status.', [...this.inProcessRequests].map(([k, v]) => {
      const [route, status] = k.split('\u0000');
      return [{ route: route ?? '', status: status ?? '' }, v];
    }));
    out.push('# HELP jailnetd_http_request_duration_seconds Time to answer, by route (in-process requests included).', '# TYPE jailnetd_http_request_duration_seconds summary');
    for (const [route, s] of this.requestSeconds) {
      out.push(`jailnetd_http_request_duration_seconds_sum${labelText({ route })} ${formatValue(s.sum)}`);
      out.push(`jailnetd_http_request_duration_seconds_count${labelText({ route })} ${s.count}`);
    }
    const mem = process.memoryUsage();
    metric('process_resident_memory_bytes', 'gauge', 'Resident memory size.', [[{}, mem.rss]]);
    metric('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', [[{}, mem.heapUsed]]);
    return `${out.join('\n')}\n`;
  }
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}
