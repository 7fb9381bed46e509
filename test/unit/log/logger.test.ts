/**
 * src/log/logger.ts: JAILNET_LOG_LEVEL (and JAILNET_LOG_FILE) in the environment win over the
 * level and file from the configuration, as plugins (src/cni/skel.ts) and jailnetd configure it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type LoggerModule = typeof import('../../../src/log/logger');

/** A fresh copy of the module: its settings are process-wide. */
function freshLogger(): LoggerModule {
  let mod: LoggerModule | undefined;
  jest.isolateModules(() => {
    mod = require('../../../src/log/logger') as LoggerModule;
  });
  return mod as LoggerModule;
}

let dir: string;
let calls = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jailnet-logger-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Configures like a plugin does, logs one message per level, returns what reached the file. */
async function logAll(configLevel: string | undefined, env: NodeJS.ProcessEnv): Promise<string[]> {
  const { configureLogging, flushLogs, isLogLevel, log } = freshLogger();
  const file = join(dir, `log-${++calls}.log`);
  // src/cni/skel.ts: first from the environment only, then with the network config's values.
  configureLogging({ component: 'test' }, { ...env, JAILNET_LOG_FILE: file });
  configureLogging({ component: 'test', level: isLogLevel(configLevel) ? configLevel : undefined }, { ...env, JAILNET_LOG_FILE: file });
  log.error('e-msg');
  log.warn('w-msg');
  log.info('i-msg');
  log.debug('d-msg');
  await flushLogs();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* nothing was logged */
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (/ test\[\d+\] (\w+): (\S+)$/.exec(l) ?? []).slice(1).join(' '));
}

describe('log level: environment over configuration', () => {
  test('JAILNET_LOG_LEVEL=debug raises a configured "error"', async () => {
    expect(await logAll('error', { JAILNET_LOG_LEVEL: 'debug' })).toEqual(['error e-msg', 'warn w-msg', 'info i-msg', 'debug d-msg']);
  });

  test('JAILNET_LOG_LEVEL=error lowers a configured "debug"', async () => {
    expect(await logAll('debug', { JAILNET_LOG_LEVEL: 'error' })).toEqual(['error e-msg']);
  });

  test('without JAILNET_LOG_LEVEL the configured level applies; without either, warn', async () => {
    expect(await logAll('info', {})).toEqual(['error e-msg', 'warn w-msg', 'info i-msg']);
    expect(await logAll(undefined, {})).toEqual(['error e-msg', 'warn w-msg']);
  });

  test('an unknown JAILNET_LOG_LEVEL is ignored: the configured level applies', async () => {
    expect(await logAll('info', { JAILNET_LOG_LEVEL: 'verbose' })).toEqual(['error e-msg', 'warn w-msg', 'info i-msg']);
  });

  test('isEnabled follows the same rule', () => {
    const { configureLogging, log } = freshLogger();
    configureLogging({ component: 'test', level: 'error' }, { JAILNET_LOG_LEVEL: 'debug' });
    expect(log.isEnabled('debug')).toBe(true);
    configureLogging({ component: 'test', level: 'debug' }, { JAILNET_LOG_LEVEL: 'warn' });
    expect(log.isEnabled('info')).toBe(false);
    expect(log.isEnabled('warn')).toBe(true);
    configureLogging({ component: 'test', level: 'debug' }, {});
    expect(log.isEnabled('debug')).toBe(true);
  });

  test('JAILNET_LOG_FILE wins over the configured file', async () => {
    const { configureLogging, flushLogs, log } = freshLogger();
    const configured = join(dir, 'configured.log');
    const fromEnv = join(dir, 'env.log');
    configureLogging({ component: 'test', level: 'warn', file: configured }, { JAILNET_LOG_FILE: fromEnv });
    log.warn('to-env-file');
    await flushLogs();
    expect(readFileSync(fromEnv, 'utf8')).toMatch(/ test\[\d+\] warn: to-env-file\n/);
    expect(() => readFileSync(configured)).toThrow();
  });
});
