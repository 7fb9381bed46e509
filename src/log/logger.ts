/**
 * Logging for plugins, the daemon and the CLI. Never to stdout: a plugin's stdout carries only
 * the CNI protocol. And logging can never break anything else either: no call of `log` throws,
 * a log file that cannot be opened or written makes logging fall back to stderr (with one line
 * saying why), and flushLogs() always settles.
 *
 * Lines to stderr are written here (write(2), one line per message). Lines to a log file go
 * through winston, which costs tens of milliseconds to load and is loaded only when the first
 * message for a file passes the level filter: with the default level (warn) a successful plugin
 * call never loads it. scripts/build.mjs puts winston inside each executable.
 */
import { createWriteStream, openSync, writeSync } from 'node:fs';
import type * as Winston from 'winston';
import { checkTrustedPath } from '../util/trusted-path';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
type Meta = Record<string, unknown>;

export interface Logger {
  error(message: string, meta?: Meta): void;
  warn(message: string, meta?: Meta): void;
  info(message: string, meta?: Meta): void;
  debug(message: string, meta?: Meta): void;
  isEnabled(level: LogLevel): boolean;
}

export interface LogSettings {
  /** Program name shown in every line, e.g. "bridge" or "jailnetd". */
  component: string;
  level: LogLevel;
  /** Absolute path of a log file; stderr when absent. */
  file?: string;
}

/** Environment overrides: JAILNET_LOG_LEVEL and JAILNET_LOG_FILE win over config values. */
export const LOG_LEVEL_ENV = 'JAILNET_LOG_LEVEL';
export const LOG_FILE_ENV = 'JAILNET_LOG_FILE';

/** The longest flushLogs() waits for a log file's writes to finish. */
const FLUSH_LIMIT_MS = 2_000;

let settings: LogSettings = { component: 'jailnet', level: 'warn' };
/** winston's logger and the file stream it writes to (ended after the logger, to flush it). */
interface Backend {
  logger: Winston.Logger;
  stream: NodeJS.WritableStream;
}
let backend: Backend | undefined;
/** Set when the log file failed: from then on lines go to stderr. */
let fileFailed = false;

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

/** Sets where and how much to log; the environment overrides `configured` values. */
export function configureLogging(configured: Partial<LogSettings> & { component: string }, env: NodeJS.ProcessEnv = process.env): void {
  const envLevel = env[LOG_LEVEL_ENV];
  const level = isLogLevel(envLevel) ? envLevel : configured.level ?? settings.level;
  const file = env[LOG_FILE_ENV] || configured.file;
  const next: LogSettings = { component: configured.component, level };
  if (file) next.file = file;
  if (next.file !== settings.file || next.component !== settings.component) {
    closeBackend();
    fileFailed = false;
  }
  settings = next;
  if (backend) backend.logger.level = level;
}

/** The settings in force, to put back after running a plugin in this process (src/cni/runtime/in-process.ts). */
export function currentLogSettings(): LogSettings {
  return { ...settings };
}

function enabled(level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(settings.level);
}

/** One line as every jailnet program writes it. */
function formatLine(level: LogLevel, message: string, meta: Meta | undefined, timestamp = new Date().toISOString()): string {
  const extra = meta && Object.keys(meta).some((k) => meta[k] !== undefined) ? ` ${safeJson(meta)}` : '';
  return `${timestamp} ${settings.component}[${process.pid}] ${level}: ${message}${extra}`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return '"(meta not serializable)"';
  }
}

/** write(2) to stderr; a closed or full stderr loses the line, nothing more. */
function toStderr(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    /* nowhere left to report it */
  }
}

function emit(level: LogLevel, message: string, meta?: Meta): void {
  if (!enabled(level)) return;
  if (!settings.file || fileFailed) {
    toStderr(formatLine(level, message, meta));
    return;
  }
  try {
    (backend ??= createBackend(settings.file)).logger.log(level, message, meta ?? {});
  } catch (err) {
    fileFailure(err);
    toStderr(formatLine(level, message, meta));
  }
}

/** The log file cannot be used: say so once on stderr; later lines go there. */
function fileFailure(err: unknown): void {
  if (fileFailed) return;
  fileFailed = true;
  const b = backend;
  backend = undefined;
  toStderr(formatLine('error', `cannot log to ${settings.file}: ${(err as Error)?.message ?? String(err)}; logging to stderr instead`, undefined));
  closeQuietly(b);
}

function closeBackend(): void {
  const b = backend;
  backend = undefined;
  closeQuietly(b);
}

function closeQuietly(b: Backend | undefined): void {
  try {
    b?.logger.close();
    b?.stream.end();
  } catch {
    /* closing a failed log file */
  }
}

function createBackend(file: string): Backend {
  // The path may come from a network file: root appends only where nobody else can change what it names.
  checkTrustedPath(file, 'log');
  // Loaded here, not at import time: see the module comment.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const winston = require('winston') as typeof Winston;
  const { format } = winston;
  const line = format.printf((info) => {
    const { level, message, timestamp, ...rest } = info as Winston.Logform.TransformableInfo & { timestamp: string };
    return formatLine(level as LogLevel, String(message), rest, timestamp);
  });
  // Opened here, synchronously (O_APPEND|O_CREAT, 0600): a file that cannot be opened is known at
  // once and the line goes to stderr. (winston's File transport opens in the background and
  // drops an EPERM silently; its 'finish' never comes.)
  const fd = openSync(file, 'a', 0o600);
  const stream = createWriteStream('', { fd, flags: 'a' });
  stream.on('error', fileFailure);
  const transport = new winston.transports.Stream({ stream });
  const logger = winston.createLogger({ level: settings.level, levels: { error: 0, warn: 1, info: 2, debug: 3 }, format: format.combine(format.timestamp(), line), transports: [transport], exitOnError: false });
  transport.on('error', fileFailure);
  logger.on('error', fileFailure);
  return { logger, stream };
}

/**
 * Lets go of the log file, so that the next message opens it again by name. newsyslog(8)
 * renames a log and then signals its writer (jailnetd: SIGHUP); a writer that kept its
 * descriptor would go on filling the renamed file. Messages already queued are written to
 * the old file first, then it is closed. A log file that had failed is tried again. Nothing to
 * do when logging goes to stderr.
 */
export function reopenLogFile(): void {
  fileFailed = false;
  const old = backend;
  if (!old || !settings.file) return;
  backend = undefined;
  old.logger.once('finish', () => closeQuietly(old));
  try {
    old.logger.end();
  } catch {
    closeQuietly(old);
  }
}

/** Waits until every message is written (at most FLUSH_LIMIT_MS); call before a short-lived process ends. Never rejects. */
export function flushLogs(): Promise<void> {
  const b = backend;
  if (!b) return Promise.resolve();
  backend = undefined;
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(limit);
      setImmediate(resolve);
    };
    // A stream that never settles must not keep a plugin from ending.
    const limit = setTimeout(finish, FLUSH_LIMIT_MS);
    // winston passes every line on to the file stream by its 'finish'; the stream's own 'finish' is when they are written.
    b.stream.on('finish', finish);
    b.stream.on('error', finish);
    b.logger.on('error', finish);
    b.logger.on('finish', () => {
      try {
        b.stream.end();
      } catch {
        finish();
      }
    });
    try {
      b.logger.end();
    } catch {
      finish();
    }
  });
}

export const log: Logger = {
  error: (m, meta) => emit('error', m, meta),
  warn: (m, meta) => emit('warn', m, meta),
  info: (m, meta) => emit('info', m, meta),
  debug: (m, meta) => emit('debug', m, meta),
  isEnabled: enabled,
};
