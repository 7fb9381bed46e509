/**
 * Logging for plugins, the daemon and the CLI, through winston. Never to stdout: a plugin's
 * stdout carries only the CNI protocol.
 *
 * winston costs tens of milliseconds to load, and a plugin is started once per CNI call, so
 * it is loaded only when the first message passes the level filter. With the default level
 * (warn) a successful plugin call never loads it.
 */
import type * as Winston from 'winston';

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

let settings: LogSettings = { component: 'jailnet', level: 'warn' };
let backend: Winston.Logger | undefined;

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
  if (backend && (next.file !== settings.file || next.component !== settings.component)) {
    backend.close();
    backend = undefined;
  }
  settings = next;
  if (backend) backend.level = level;
}

function enabled(level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(settings.level);
}

function emit(level: LogLevel, message: string, meta?: Meta): void {
  if (!enabled(level)) return;
  (backend ??= createBackend()).log(level, message, meta ?? {});
}

function createBackend(): Winston.Logger {
  // Loaded here, not at import time: see the module comment.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const winston = require('winston') as typeof Winston;
  const { format } = winston;
  const line = format.printf((info) => {
    const { level, message, timestamp, component: _c, ...rest } = info as Winston.Logform.TransformableInfo & { timestamp: string };
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${timestamp} ${settings.component}[${process.pid}] ${level}: ${String(message)}${extra}`;
  });
  const transport = settings.file
    ? new winston.transports.File({ filename: settings.file })
    : new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] });
  return winston.createLogger({ level: settings.level, levels: { error: 0, warn: 1, info: 2, debug: 3 }, format: format.combine(format.timestamp(), line), transports: [transport] });
}

/**
 * Lets go of the log file, so that the next message opens it again by name. newsyslog(8)
 * renames a log and then signals its writer (jailnetd: SIGHUP); a writer that kept its
 * descriptor would go on filling the renamed file. Messages already queued are written to
 * the old file first, then it is closed. Nothing to do when logging goes to stderr.
 */
export function reopenLogFile(): void {
  const old = backend;
  if (!old || !settings.file) return;
  backend = undefined;
  old.once('finish', () => old.close());
  old.end();
}

/** Waits until every message is written; call before a short-lived process ends. */
export function flushLogs(): Promise<void> {
  const b = backend;
  if (!b) return Promise.resolve();
  backend = undefined;
  return new Promise((resolve) => {
    b.on('finish', () => setImmediate(resolve));
    b.end();
  });
}

export const log: Logger = {
  error: (m, meta) => emit('error', m, meta),
  warn: (m, meta) => emit('warn', m, meta),
  info: (m, meta) => emit('info', m, meta),
  debug: (m, meta) => emit('debug', m, meta),
  isEnabled: enabled,
};
