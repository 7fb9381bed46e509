import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';

/**
 * An IPv6 router on the world side of em0: Debian's radvd, advertising the world's prefix and
 * itself as the default router every 3 to 4 seconds (radvd's shortest interval), so that the
 * emulated host can learn a default route from router advertisements as a SLAAC host does.
 */
export interface Router {
  /** The router's link-local address (the gateway of the learnt default route). */
  linkLocal: string;
  /**
   * Resolves once the router has begun `n` more advertisement rounds after the call: with n = 2
   * at least one advertisement has been sent and delivered since. Counts radvd's own log lines,
   * not time.
   */
  sent(n: number): Promise<void>;
}

const RADVD = '/usr/sbin/radvd';

export async function startRouter(host: EmulatedHost, prefix = '2001:db8:e0::/64'): Promise<Router> {
  const conf = join(host.dir, 'radvd.conf');
  writeFileSync(conf, `interface wan0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 1800;\n  prefix ${prefix} { };\n};\n`);
  const addrs = JSON.parse((await host.worldExec(['/usr/sbin/ip', '-j', '-6', 'addr', 'show', 'dev', 'wan0', 'scope', 'link'])).stdout) as { addr_info: { local?: string }[] }[];
  const linkLocal = addrs[0]?.addr_info.find((a) => a.local?.startsWith('fe80:'))?.local;
  if (!linkLocal) throw new Error('the world side of em0 has no link-local address');
  // -n: stay in the foreground (killed by host.destroy()); -d 1 logs each advertisement round.
  const child = host.spawnInWorld([RADVD, '-n', '-C', conf, '-p', join(host.dir, 'radvd.pid'), '-m', 'stderr', '-d', '1']);
  let log = '';
  let exited: string | undefined;
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  child.on('exit', (code) => (exited = `radvd exited with ${code}: ${log.slice(-500)}`));
  const rounds = () => (log.match(/timer_handler called for wan0/g) ?? []).length;
  return {
    linkLocal,
    sent: async (n) => {
      const target = rounds() + n;
      const deadline = Date.now() + 30_000;
      while (rounds() < target) {
        if (exited) throw new Error(exited);
        if (Date.now() > deadline) throw new Error(`radvd sent no advertisement in 30 s: ${log.slice(-500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
