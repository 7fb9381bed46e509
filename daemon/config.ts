import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import validateConfig from '../src/config/generated/jailnetd-config';
import { describeSchemaError } from '../src/config/validate';
import { isLogLevel, type LogLevel } from '../src/log/logger';
import { checkTrustedPath, UntrustedPathError, type PathUse } from '../src/util/trusted-path';

/**
 * jailnetd's settings: defaults (hier(7) paths), then the configuration file, then flags.
 * The file is JSON (conf/jailnetd.json.example); a missing default file is fine, a missing
 * file named with --config is an error.
 */

export const DEFAULT_CONFIG_FILE = '/usr/local/etc/jailnet/jailnetd.json';
export const DEFAULT_SOCKET = '/var/run/jailnet/jailnetd.sock';
export const DEFAULT_STATE_DIR = '/var/db/jailnet';
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';
export const DEFAULT_DNS_RATE_LIMIT = 1000;

export interface DaemonConfig {
  socket: string;
  stateDir: string;
  logLevel: LogLevel;
  logFile?: string;
  reclaim: { intervalSeconds: number; graceSeconds: number };
  compactAfterRecords: number;
  /** The DNS server: the resolv.conf forwarding reads, queries a second per jail address (0: no limit). */
  dns: { resolvConf: string; rateLimit: number };
  /**
   * Compare the ranges of a network with the host's own addresses and routes (`ifconfig`,
   * `netstat -rnW`) the first time they come, and refuse them when they overlap.
   */
  hostCheck: boolean;
  /** This host's name among the hosts of cluster networks (docs/cluster.md); the system's host name by default. */
  hostName: string;
  /** The file the settings were read from, when there was one. */
  configFile?: string;
}

interface FileConfig {
  socket?: string;
  stateDir?: string;
  logLevel?: LogLevel;
  logFile?: string;
  reclaim?: { intervalSeconds?: number; graceSeconds?: number };
  compactAfterRecords?: number;
  dns?: { resolvConf?: string; rateLimit?: number };
  hostCheck?: boolean;
  hostName?: string;
}

export class ConfigError extends Error {}

export function defaultConfig(): DaemonConfig {
  return {
    socket: DEFAULT_SOCKET,
    stateDir: DEFAULT_STATE_DIR,
    logLevel: 'info',
    reclaim: { intervalSeconds: 60, graceSeconds: 300 },
    compactAfterRecords: 100_000,
    dns: { resolvConf: DEFAULT_RESOLV_CONF, rateLimit: DEFAULT_DNS_RATE_LIMIT },
    hostCheck: true,
    hostName: hostname(),
  };
}

export function readConfigFile(path: string, required: boolean): FileConfig | undefined {
  if (!required && !existsSync(path)) return undefined;
  try {
    checkTrustedPath(path, 'config');
  } catch (err) {
    if (err instanceof UntrustedPathError) throw new ConfigError(`configuration file ${err.message}; jailnetd reads only a file nobody but root can change (docs/security.md)`);
    throw err;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!validateConfig(doc)) {
    const e = validateConfig.errors?.[0];
    throw new ConfigError(`${path}: ${e ? describeSchemaError(e, doc) : 'does not match its schema'}`);
  }
  return doc as FileConfig;
}

export const USAGE = `Usage: jailnetd [options]

The jailnet IPAM daemon: address pools and host-port reservations for CNI, on a unix socket.
Runs in the foreground; daemon(8) (used by the rc.d script) runs it in the background.

Options:
  -c, --config FILE          configuration file (JSON) [default: ${DEFAULT_CONFIG_FILE} if it exists]
  -s, --socket PATH          unix socket to listen on [default: ${DEFAULT_SOCKET}]
  -d, --state-dir DIR        journal and snapshots [default: ${DEFAULT_STATE_DIR}]
  -l, --log-level LEVEL      error, warn, info or debug [default: info]
      --log-file FILE        log file [default: stderr]
      --reclaim-interval S   seconds between checks of leases against jls; 0 turns it off [default: 60]
      --reclaim-grace S      seconds a jail must stay missing before its leases are released [default: 300]
      --resolv-conf FILE     the resolv.conf whose nameservers the DNS server forwards to [default: ${DEFAULT_RESOLV_CONF}]
      --no-host-check        do not compare new networks' ranges with the host's addresses and
                             routes (ifconfig, netstat); for hosts without FreeBSD's tools
      --host-name NAME       this host's name in cluster networks' etcd keys [default: the host name]
  -h, --help                 this text
  -V, --version              the version
`;

/**
 * Settings from the command line (argv without node and script). Flags are parsed with
 * node:util's parseArgs: yargs 18 is ESM-only and does not run from the CommonJS bundle
 * that scripts/build.mjs makes, and a daemon needs nothing more than this.
 */
export function loadConfig(argv: string[]): DaemonConfig | 'help' | 'version' {
  let args: ReturnType<typeof parseFlags>;
  try {
    args = parseFlags(argv);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${USAGE}`);
  }
  if (args.help) return 'help';
  if (args.version) return 'version';
  const level = args['log-level'];
  if (level !== undefined && !isLogLevel(level)) throw new ConfigError(`--log-level must be one of error, warn, info, debug, got "${level}"`);

  const config = defaultConfig();
  const file = readConfigFile(args.config ?? DEFAULT_CONFIG_FILE, args.config !== undefined);
  if (file) {
    config.configFile = args.config ?? DEFAULT_CONFIG_FILE;
    if (file.socket) config.socket = file.socket;
    if (file.stateDir) config.stateDir = file.stateDir;
    if (file.logLevel) config.logLevel = file.logLevel;
    if (file.logFile) config.logFile = file.logFile;
    if (file.reclaim?.intervalSeconds !== undefined) config.reclaim.intervalSeconds = file.reclaim.intervalSeconds;
    if (file.reclaim?.graceSeconds !== undefined) config.reclaim.graceSeconds = file.reclaim.graceSeconds;
    if (file.compactAfterRecords !== undefined) config.compactAfterRecords = file.compactAfterRecords;
    if (file.dns?.resolvConf) config.dns.resolvConf = file.dns.resolvConf;
    if (file.dns?.rateLimit !== undefined) config.dns.rateLimit = file.dns.rateLimit;
    if (file.hostCheck !== undefined) config.hostCheck = file.hostCheck;
    if (file.hostName !== undefined) config.hostName = file.hostName;
  }
  const absolute = (flag: string, v: string) => {
    if (!v.startsWith('/')) throw new ConfigError(`--${flag} must be an absolute path, got "${v}"`);
    return v;
  };
  if (args.socket !== undefined) config.socket = absolute('socket', args.socket);
  if (args['state-dir'] !== undefined) config.stateDir = absolute('state-dir', args['state-dir']);
  if (isLogLevel(level)) config.logLevel = level;
  if (args['log-file'] !== undefined) config.logFile = absolute('log-file', args['log-file']);
  const seconds = (flag: string, text: string) => {
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw new ConfigError(`--${flag} must be a number of seconds >= 0, got "${text}"`);
    return v;
  };
  if (args['reclaim-interval'] !== undefined) config.reclaim.intervalSeconds = seconds('reclaim-interval', args['reclaim-interval']);
  if (args['reclaim-grace'] !== undefined) config.reclaim.graceSeconds = seconds('reclaim-grace', args['reclaim-grace']);
  if (args['resolv-conf'] !== undefined) config.dns.resolvConf = absolute('resolv-conf', args['resolv-conf']);
  // Where each path came from, for the message when it is refused.
  const origin = (flag: string, field: keyof FileConfig, given: string | undefined) =>
    given !== undefined ? `--${flag}` : file?.[field] !== undefined ? `${config.configFile}: field "${field}"` : `the default ${flag}`;
  requireTrusted(origin('socket', 'socket', args.socket), config.socket, 'socket');
  requireTrusted(origin('state-dir', 'stateDir', args['state-dir']), config.stateDir, 'state-dir');
  if (config.logFile) requireTrusted(origin('log-file', 'logFile', args['log-file']), config.logFile, 'log');
  // Its nameservers get every query the jails send out: a file others can change would let them
  // redirect those. A missing one is allowed (resolvconf(8) may write it later; no upstreams meanwhile).
  if (existsSync(config.dns.resolvConf)) {
    const given = args['resolv-conf'] !== undefined ? '--resolv-conf' : file?.dns?.resolvConf !== undefined ? `${config.configFile}: field "dns.resolvConf"` : 'the default resolv-conf';
    requireTrusted(given, config.dns.resolvConf, 'config');
  }
  if (args['no-host-check']) config.hostCheck = false;
  if (args['host-name'] !== undefined) config.hostName = args['host-name'];
  // It becomes a component of etcd keys (PREFIX/NETWORK/hosts/NAME).
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(config.hostName)) throw new ConfigError(`host name "${config.hostName}" must be 1 to 63 letters, digits, '_', '.', '-' (a letter or digit first); set --host-name or "hostName"`);
  return config;
}

/**
 * jailnetd runs as root: it creates its socket and state directory, and appends to its log,
 * only where nobody else can change what they are (src/util/trusted-path.ts, docs/security.md).
 * A network file can name these paths (ipam.daemon.*), so the daemon checks them itself.
 */
function requireTrusted(origin: string, path: string, use: PathUse): void {
  try {
    checkTrustedPath(path, use);
  } catch (err) {
    if (err instanceof UntrustedPathError) throw new ConfigError(`${origin}: ${err.message} (see docs/security.md)`);
    throw err;
  }
}

/** jailnetd's flags (also what jailnetd(8) must describe: test/process/manual-pages.test.ts). */
export const FLAGS = {
  config: { type: 'string', short: 'c' },
  socket: { type: 'string', short: 's' },
  'state-dir': { type: 'string', short: 'd' },
  'log-level': { type: 'string', short: 'l' },
  'log-file': { type: 'string' },
  'reclaim-interval': { type: 'string' },
  'reclaim-grace': { type: 'string' },
  'resolv-conf': { type: 'string' },
  'no-host-check': { type: 'boolean' },
  'host-name': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

function parseFlags(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: false, options: FLAGS }).values;
}
