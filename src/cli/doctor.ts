import { CommandError } from '../freebsd/exec';
import { showRules, isPfEnabled } from '../freebsd/pfctl';
import { findExecutable } from '../freebsd/plugin-exec';
import { getSysctl } from '../freebsd/sysctl';
import { callDaemon } from '../ipam/client';
import { takesRouterAdvertisements } from '../link/forwarding';
import { MAIN_RULESET_HOOKS } from '../pf/anchors';
import { listNetworks, validateNetwork } from './networks';
import type { CliPaths } from './paths';

/** `jailnet doctor`: is this host ready for jailnet, and if not, what to do. */

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Finding {
  check: string;
  verdict: Verdict;
  detail: string;
  fix?: string;
}

async function sysctlValue(name: string): Promise<string | undefined> {
  try {
    return await getSysctl(name);
  } catch (err) {
    if (err instanceof CommandError) return undefined;
    throw err;
  }
}

export async function doctor(paths: CliPaths): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (check: string, verdict: Verdict, detail: string, fix?: string) => out.push({ check, verdict, detail, ...(fix ? { fix } : {}) });

  const vimage = await sysctlValue('kern.features.vimage');
  if (vimage === '1') add('vnet jails', 'ok', 'the kernel has VIMAGE');
  else add('vnet jails', 'fail', 'the kernel has no VIMAGE', 'use a kernel with "options VIMAGE" (GENERIC has it)');

  const fwd = await sysctlValue('net.inet.ip.forwarding');
  if (fwd === '1') add('forwarding', 'ok', 'net.inet.ip.forwarding=1');
  else add('forwarding', 'warn', `net.inet.ip.forwarding=${fwd ?? '?'}`, 'sysrc gateway_enable=YES (jailnet also turns it on when it creates a bridge)');

  // nd6_rtr.c: with IPv6 forwarding on, router advertisements give no default route unless
  // net.inet6.ip6.rfc6204w3=1; a host configured by SLAAC then loses (or never gets) it.
  const fwd6 = await sysctlValue('net.inet6.ip6.forwarding');
  const rfc6204w3 = await sysctlValue('net.inet6.ip6.rfc6204w3');
  if (fwd6 === '1' && rfc6204w3 === '0' && (await takesRouterAdvertisements(await sysctlValue('net.inet6.ip6.accept_rtadv')))) {
    add(
      'IPv6 router advertisements',
      'warn',
      'net.inet6.ip6.forwarding=1 and net.inet6.ip6.rfc6204w3=0 on a host that takes router advertisements: they give it no IPv6 default route',
      'sysctl net.inet6.ip6.rfc6204w3=1 (and in /etc/sysctl.conf)',
    );
  } else if (fwd6 === '1') {
    add('IPv6 router advertisements', 'ok', rfc6204w3 === '1' ? 'net.inet6.ip6.rfc6204w3=1: router advertisements still give a default route' : 'no interface takes router advertisements');
  }

  let pfOn = false;
  try {
    pfOn = await isPfEnabled();
    if (pfOn) add('pf', 'ok', 'pf is enabled');
    else add('pf', 'fail', 'pf is disabled: no NAT and no published ports', 'sysrc pf_enable=YES && service pf start');
  } catch (err) {
    add('pf', 'fail', `pfctl failed: ${(err as Error).message}`, 'kldload pf; sysrc pf_enable=YES');
  }
  if (pfOn) {
    const main = [...(await showRules('nat')), ...(await showRules('rules'))];
    const missing = MAIN_RULESET_HOOKS.filter((hook) => !main.some((rule) => rule.startsWith(hook)));
    if (missing.length === 0) add('pf hooks', 'ok', 'the main ruleset hooks "jailnet/*"');
    else add('pf hooks', 'fail', `the main ruleset lacks ${missing.join(', ')}`, 'add the lines of conf/pf.conf to /etc/pf.conf and reload it (pfctl -f /etc/pf.conf)');
  }
  try {
    const health = await callDaemon<{ status?: string }>({ socket: paths.daemonSocket, timeoutMs: 5000 }, 'GET', '/v1/health');
    add('jailnetd', 'ok', `answers on ${paths.daemonSocket}${health.status ? ` (${health.status})` : ''}`);
  } catch (err) {
    add('jailnetd', 'warn', `${(err as Error).message}`, 'service jailnetd start (the IPAM plugin also starts it on first use unless "autostart": false)');
  }

  try {
    const lists = listNetworks(paths);
    if (lists.length === 0) add('networks', 'warn', `no network files in ${paths.confDir}`, 'jailnet network create default --subnet 10.88.0.0/16');
    for (const list of lists) {
      try {
        validateNetwork(list);
        const missing = [...new Set(list.plugins.flatMap((p) => [p.type, (p.ipam as { type?: string } | undefined)?.type].filter((t): t is string => !!t)))].filter((t) => !findExecutable(t, paths.cniPath));
        if (missing.length) add(`network ${list.name}`, 'fail', `plugins not found in ${paths.cniPath.join(':')}: ${missing.join(', ')}`, 'jailnet plugins install');
        else add(`network ${list.name}`, 'ok', 'valid, plugins present');
      } catch (err) {
        add(`network ${list.name}`, 'fail', (err as Error).message);
      }
    }
  } catch (err) {
    add('networks', 'fail', (err as Error).message);
  }
  return out;
}
