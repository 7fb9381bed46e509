import type { EmulatedHost, HostSnapshot } from '../harness/emulated-host';
import type { TestDaemon } from '../helpers/jailnetd';

/**
 * What a failed ADD must leave exactly as it found it, for the rollback suites: the host's and
 * every vnet jail's interfaces (with addresses, MTU, bridge membership and FreeBSD metadata),
 * the jails, the host's routes and each jail's routes, the forwarding sysctls, the NAT anchors
 * and tables of the given networks, and jailnetd's leases.
 */
export interface HostState extends HostSnapshot {
  jailRoutes: Record<string, string[]>;
  sysctls: Record<string, string>;
  pf: Record<string, { rules: string; table: string }>;
  leases: unknown[];
}

export const FORWARDING = ['net.inet.ip.forwarding', 'net.inet6.ip6.forwarding'];

export async function hostState(host: EmulatedHost, ipamd: TestDaemon, natNetworks: readonly string[] = []): Promise<HostState> {
  const snap = await host.snapshot();
  const jailRoutes: Record<string, string[]> = {};
  for (const jail of Object.keys(snap.jails)) {
    const r = await host.jexec(jail, ['/bin/sh', '-c', '/usr/sbin/ip route show; /usr/sbin/ip -6 route show']);
    if (r.code !== 0) throw new Error(`routes of jail ${jail}: ${r.stderr}`);
    jailRoutes[jail] = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  }
  const values = (await host.runOk('sysctl', FORWARDING)).split('\n');
  const sysctls = Object.fromEntries(values.filter(Boolean).map((l) => l.split(': ') as [string, string]));
  const pf: HostState['pf'] = {};
  for (const network of natNetworks) {
    const anchor = `jailnet/nat-${network}`;
    const rules = await host.run('pfctl', ['-a', anchor, '-s', 'nat']);
    const table = await host.run('pfctl', ['-a', anchor, '-t', 'masq', '-T', 'show']);
    pf[network] = { rules: rules.stdout, table: table.code === 0 ? table.stdout : `(${table.stderr.trim()})` };
  }
  return { ...snap, jailRoutes, sysctls, pf, leases: await ipamd.leases() };
}

/**
 * The state without the jail's lo0 and the routes through it: a successful ADD brings lo0 up
 * with 127.0.0.1 (and the ::1 Linux adds), and DEL leaves it so (docs/plugins.md, "lo0").
 */
export function withoutLoopback(s: HostState, jail: string): HostState {
  return {
    ...s,
    jails: { ...s.jails, [jail]: (s.jails[jail] ?? []).filter((i) => i.name !== 'lo0') },
    jailRoutes: { ...s.jailRoutes, [jail]: (s.jailRoutes[jail] ?? []).filter((r) => !/ dev lo( |$)/.test(r)) },
  };
}

/** lo0 of a jail as the snapshot shows it. */
export function loopback(s: HostState, jail: string) {
  return s.jails[jail]?.find((i) => i.name === 'lo0');
}
