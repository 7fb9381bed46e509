/**
 * jailnetd: the jailnet IPAM daemon. See docs/ipam.md; flags with --help.
 */
import { version } from '../package.json';
import { listJails } from '../src/freebsd/jail';
import { readHostNetworks } from '../src/link/host-conflicts';
import { LockHeldError } from '../src/ipam/store/state-lock';
import { configureLogging, flushLogs, log, reopenLogFile } from '../src/log/logger';
import { loadConfig, USAGE } from './config';
import { Daemon } from './daemon';

async function main(): Promise<void> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`jailnetd: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (loaded === 'help' || loaded === 'version') {
    process.stdout.write(loaded === 'help' ? USAGE : `${version}\n`);
    return;
  }
  const config = loaded;
  // Every file and socket the daemon creates is for root only.
  process.umask(0o077);
  configureLogging({ component: 'jailnetd', level: config.logLevel, ...(config.logFile ? { file: config.logFile } : {}) });
  // Nothing is logged before the socket answers unless something is wrong: loading the logger
  // costs ~40 ms of the restart time. Daemon.start() logs one line when it listens.

  const daemon = new Daemon({ config, version, listJails, readHostNetworks });
  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    try {
      await daemon.stop();
    } catch (err) {
      log.error(`stopping failed: ${(err as Error).message}`);
      code = code || 1;
    }
    await flushLogs();
    process.exit(code);
  };
  process.on('SIGTERM', () => void exit(0));
  process.on('SIGINT', () => void exit(0));
  // newsyslog(8) renames the log file and sends SIGHUP (conf/newsyslog/jailnetd.conf).
  process.on('SIGHUP', () => {
    reopenLogFile();
    log.info('SIGHUP: log file reopened (restart jailnetd to apply configuration changes)');
  });

  try {
    await daemon.start();
  } catch (err) {
    const message = err instanceof LockHeldError ? `${err.message}; not starting a second one` : `cannot start: ${(err as Error).message}`;
    log.error(message);
    process.stderr.write(`jailnetd: ${message}\n`);
    await flushLogs();
    process.exit(err instanceof LockHeldError ? 75 : 1);
  }
}

void main();
