import { isIP } from 'node:net';

/**
 * resolv.conf(5): reading the host's (the upstreams jailnetd forwards to, with its search list
 * and options) and writing a jail's (what the runj hook puts into the jail's root). The reading
 * follows FreeBSD's libc (lib/libc/resolv/res_init.c): at most MAXNS (3) nameservers, `domain`
 * and `search` replace each other (the last one wins), `options ndots:N timeout:N attempts:N`,
 * comments start with "#" or ";", and unknown lines are ignored.
 */

export const MAXNS = 3;
/** res_init.c limits: RES_MAXNDOTS 15, RES_MAXRETRANS 30, RES_MAXRETRY 5. */
const MAX_NDOTS = 15;
const MAX_TIMEOUT = 30;
const MAX_ATTEMPTS = 5;

export interface HostResolvConf {
  /** Addresses, IPv6 possibly with a %scope. */
  nameservers: string[];
  search: string[];
  ndots: number;
  /** Seconds per try (libc's RES_TIMEOUT is 5). */
  timeout: number;
  attempts: number;
}

export function parseResolvConf(text: string): HostResolvConf {
  const conf: HostResolvConf = { nameservers: [], search: [], ndots: 1, timeout: 5, attempts: 2 };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [keyword, ...words] = line.split(/\s+/);
    switch (keyword) {
      case 'nameserver': {
        const address = words[0];
        if (address && conf.nameservers.length < MAXNS && isIP(address.split('%')[0] as string) !== 0) conf.nameservers.push(address);
        break;
      }
      case 'domain':
        if (words[0]) conf.search = [words[0]];
        break;
      case 'search':
        conf.search = words.filter((w) => w !== '.');
        break;
      case 'options':
        for (const w of words) {
          const [name, value] = w.split(':');
          const n = Number(value);
          if (!Number.isInteger(n) || n < 0) continue;
          if (name === 'ndots') conf.ndots = Math.min(n, MAX_NDOTS);
          else if (name === 'timeout' && n >= 1) conf.timeout = Math.min(n, MAX_TIMEOUT);
          else if (name === 'attempts' && n >= 1) conf.attempts = Math.min(n, MAX_ATTEMPTS);
        }
        break;
      default:
        break;
    }
  }
  return conf;
}

/**
 * What the jail's resolver tries before it gives up: five tries of two seconds each (FreeBSD's
 * libc waits `timeout` seconds per try with one nameserver, lib/libc/resolv/res_send.c send_dg();
 * glibc doubles it each round), so about 10 s: a query sent while jailnetd restarts is answered
 * by the new one. This works because while nothing listens the gateway's port-unreachable
 * answers are dropped by the pf rules (src/pf/dns-rules.ts): a refusal makes libc give up at
 * once (send_dg returns at the ECONNREFUSED of its connected socket, and every try ends so).
 */
export const JAIL_RESOLVER_OPTIONS = ['timeout:2', 'attempts:5'] as const;

export interface JailResolvConf {
  nameservers: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A jail's resolv.conf: the CNI result's `dns` (nameservers, domain, search, options). */
export function renderJailResolvConf(dns: JailResolvConf, comment = 'written by jailnet (docs/dns.md)'): string {
  const lines = [`# ${comment}`];
  // domain and search replace each other in libc; the search list (which starts with the domain) is what counts.
  const search = dns.search?.length ? dns.search : dns.domain ? [dns.domain] : [];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  for (const ns of dns.nameservers.slice(0, MAXNS)) lines.push(`nameserver ${ns}`);
  if (dns.options?.length) lines.push(`options ${dns.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
