import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';

/**
 * What the DNS suites share: dig run inside a jail (bind9-dnsutils), its answer parsed, and a
 * real DNS server in the "Internet" namespace (dnsmasq, a test zone) that jailnetd forwards to.
 */

export interface DigAnswer {
  /** dig's exit status (9: no server answered). */
  code: number;
  /** NOERROR, NXDOMAIN, REFUSED, SERVFAIL... or undefined when nothing answered. */
  status?: string;
  flags: string[];
  /** "TYPE data" per answer record, in order. */
  answers: string[];
  stdout: string;
}

export function parseDig(code: number, stdout: string): DigAnswer {
  // dig prints one header per answer it got; after a TCP retry the last one counts.
  const statuses = [...stdout.matchAll(/status: ([A-Z]+)/g)];
  const flags = [...stdout.matchAll(/;; flags: ([a-z ]*);/g)];
  const lines = stdout.split('\n');
  const answers: string[] = [];
  const start = lines.lastIndexOf(';; ANSWER SECTION:');
  if (start >= 0) {
    for (const line of lines.slice(start + 1)) {
      if (line.trim() === '') break;
      const [, , , type, ...data] = line.split(/\s+/);
      answers.push(`${type} ${data.join(' ')}`);
    }
  }
  const out: DigAnswer = { code, flags: (flags.at(-1)?.[1] ?? '').trim().split(/\s+/).filter(Boolean), answers, stdout };
  const status = statuses.at(-1)?.[1];
  if (status) out.status = status;
  return out;
}

/** `dig @server args...` inside a jail: two tries of two seconds unless the args say otherwise. */
export async function dig(host: EmulatedHost, jail: string, server: string, args: string[]): Promise<DigAnswer> {
  const r = await host.jexec(jail, ['/usr/bin/dig', '+time=2', '+tries=2', `@${server}`, ...args], { timeoutMs: 60_000 });
  return parseDig(r.code, r.stdout);
}

export const WORLD_ZONE = {
  www: { name: 'www.example.test', a: '203.0.113.80', aaaa: '2001:db8:80::80' },
  intranet: { name: 'intranet.corp.test', a: '203.0.113.81' },
  /** 12 TXT strings of 60 bytes: about 900 bytes, more than 512, less than 1232. */
  big: { name: 'big.example.test', count: 12 },
};

/**
 * dnsmasq in the world namespace on its address, port 53: the test zone, NXDOMAIN for every
 * other name (address=/#/), no upstream, no DHCP. Killed by host.destroy().
 */
export async function startWorldDns(host: EmulatedHost, extra: string[] = []): Promise<void> {
  const txt = Array.from({ length: WORLD_ZONE.big.count }, (_, i) => `--txt-record=${WORLD_ZONE.big.name},${String(i).padStart(2, '0')}${'x'.repeat(58)}`);
  const child = host.spawnInWorld([
    '/usr/sbin/dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${host.worldAddress}`,
    '--port=53',
    '--pid-file',
    '--user=root',
    `--host-record=${WORLD_ZONE.www.name},${WORLD_ZONE.www.a},${WORLD_ZONE.www.aaaa}`,
    `--host-record=${WORLD_ZONE.intranet.name},${WORLD_ZONE.intranet.a}`,
    ...txt,
    ...extra,
    '--address=/#/',
  ]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // Ready when it answers a query (dig from the world namespace itself).
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited with ${child.exitCode}: ${stderr}`);
    const r = await host.worldExec(['/usr/bin/dig', '+time=1', '+tries=1', `@${host.worldAddress}`, WORLD_ZONE.www.name]);
    if (r.stdout.includes('status: NOERROR')) return;
  }
  throw new Error(`dnsmasq does not answer: ${stderr}`);
}

/** A resolv.conf for jailnetd naming the world's DNS server, in a root-only directory. */
export function hostResolvConf(host: EmulatedHost, extra = 'search corp.test\n'): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'jailnet-dns-'));
  chmodSync(dir, 0o700);
  const path = join(dir, 'resolv.conf');
  writeFileSync(path, `${extra}nameserver ${host.worldAddress}\noptions timeout:1\n`, { mode: 0o644 });
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
