import { version as jailnetVersion } from '../../package.json';
import { configureLogging, flushLogs, isLogLevel, log } from '../log/logger';
import { checkTrustedPath, UntrustedPathError } from '../util/trusted-path';
import { parseCniArgs, type CniArgs } from './args';
import { readCniEnv, type CniCommand, type CniEnv } from './env';
import { CniCode, CniError } from './errors';
import { parseResultIn } from './parse-result';
import { resultToVersion } from './result';
import { decodeConfig, MAX_STDIN_BYTES, readStdin, readStdinSync } from './stdin';
import type { Attachment, NetConf, Result } from './types';
import { atLeast, CURRENT_VERSION, requireSupportedVersion, SUPPORTED_VERSIONS, versionInfo, type CniVersion } from './version';
import { writeOut } from './write-out';

/**
 * The plugin side of the CNI protocol, shared by every jailnet plugin: environment and stdin
 * checks, version gates, CNI_ARGS, prevResult, dispatch to the plugin's handlers, and the
 * result or error JSON on stdout. A plugin's entry file is its handlers plus one call to
 * `pluginMain`.
 */

export interface CmdContext<C extends NetConf> {
  command: CniCommand;
  containerId: string;
  /** CNI_NETNS: for jailnet, a jail name or JID (empty on some DELs). */
  netns: string;
  ifname: string;
  args: CniArgs;
  cniPath: string[];
  cniVersion: CniVersion;
  config: C;
  /** prevResult in the 1.x shape, when the runtime passed one. */
  prevResult?: Result;
  /** stdin as received, handed unchanged to a delegated IPAM plugin. */
  stdinData: Buffer;
  env: NodeJS.ProcessEnv;
}

export interface GcContext<C extends NetConf> extends CmdContext<C> {
  /** `cni.dev/valid-attachments` (or the older `cni.dev/attachments`). */
  validAttachments: Attachment[];
}

/** What a plugin does for each command. */
export interface PluginHandlers<C extends NetConf> {
  /** Checks decoded stdin against the plugin's schema and semantic rules (CniError code 7). */
  parseConfig(raw: Record<string, unknown>, env: CniEnv): C;
  add(ctx: CmdContext<C>): Promise<Result>;
  del(ctx: CmdContext<C>): Promise<void>;
  check(ctx: CmdContext<C>): Promise<void>;
  gc?(ctx: GcContext<C>): Promise<void>;
  status?(ctx: CmdContext<C>): Promise<void>;
}

export interface PluginIdentity {
  /** The executable's CNI type, e.g. "bridge". */
  name: string;
  /** CNI_ARGS keys the plugin understands besides IgnoreUnknown. */
  knownArgs?: readonly string[];
}

/**
 * A plugin: its handlers, or a `load` that imports them. With `load`, VERSION and the
 * environment checks run before the plugin's own modules (schemas, host layer) are even
 * initialized: a bundler turns the dynamic import into a lazy initializer.
 */
export type PluginDefinition<C extends NetConf> = PluginIdentity & (PluginHandlers<C> | { load(): Promise<PluginHandlers<C>> });

export interface PluginIo {
  env: NodeJS.ProcessEnv;
  /** Opened only by commands that read a configuration (not by VERSION). */
  stdin: () => NodeJS.ReadableStream;
  /** Reads stdin without a stream first, when the caller's stdin is a descriptor (readStdinSync). */
  stdinSync?: () => { data: Buffer; complete: boolean };
  /** Receives the protocol output: result, VERSION or error JSON. */
  writeStdout(text: string): void;
  writeStderr(text: string): void;
  /**
   * Log through the caller's logging as it is set up, ignoring the configuration's logFile and
   * logLevel (jailnetd running a chain for several clients at once: src/cni/runtime/in-process.ts).
   */
  keepLogging?: boolean;
}

/** What a plugin run without CNI_COMMAND prints on stderr, in the reference plugins' words. */
export function aboutText(name: string): string {
  return `CNI ${name} plugin v${jailnetVersion}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`;
}

/** Runs one CNI call; returns the exit status. */
export async function dispatch<C extends NetConf>(plugin: PluginDefinition<C>, io: PluginIo): Promise<number> {
  let errorVersion: string = CURRENT_VERSION;
  if (!io.keepLogging) configureLogging({ component: plugin.name }, io.env);
  try {
    if (!io.env.CNI_COMMAND) {
      // As the reference plugins' skel does: run by hand, a plugin says what it is (nerdctl reads
      // this line to learn the firewall plugin's version) and exits 0 with nothing on stdout.
      io.writeStderr(aboutText(plugin.name));
      return 0;
    }
    const env: CniEnv = readCniEnv(io.env);
    if (env.command === 'VERSION') {
      io.writeStdout(JSON.stringify(versionInfo()));
      return 0;
    }
    const early = io.stdinSync?.();
    const stdinData = early?.complete ? early.data : await readStdin(io.stdin(), MAX_STDIN_BYTES, early?.data);
    const raw = decodeConfig(stdinData);
    if (typeof raw.cniVersion === 'string' && /^\d+\.\d+\.\d+$/.test(raw.cniVersion)) errorVersion = raw.cniVersion;
    const cniVersion = requireSupportedVersion(raw.cniVersion);
    if (env.command === 'CHECK' && !atLeast(cniVersion, '0.4.0')) {
      throw new CniError(CniCode.IncompatibleVersion, `config version ${cniVersion} does not allow CHECK`, 'CHECK exists from cniVersion 0.4.0');
    }
    if ((env.command === 'GC' || env.command === 'STATUS') && !atLeast(cniVersion, '1.1.0')) {
      throw new CniError(CniCode.IncompatibleVersion, `config version ${cniVersion} does not allow ${env.command}`, `${env.command} exists from cniVersion 1.1.0`);
    }
    if (typeof raw.name !== 'string' || raw.name === '') {
      throw new CniError(CniCode.InvalidNetworkConfig, 'missing network name', 'set "name" in the network configuration');
    }
    const args = parseCniArgs(env.args, plugin.knownArgs ?? []);
    if (typeof raw.logFile === 'string') requireLogFile(raw.logFile);
    if (!io.keepLogging) configureLogging({ component: plugin.name, level: isLogLevel(raw.logLevel) ? raw.logLevel : undefined, file: typeof raw.logFile === 'string' ? raw.logFile : undefined }, io.env);
    const handlers = 'load' in plugin ? await plugin.load() : plugin;
    const config = handlers.parseConfig(raw, env);
    const ctx: CmdContext<C> = {
      command: env.command,
      containerId: env.containerId,
      netns: env.netns,
      ifname: env.ifname,
      args,
      cniPath: env.path,
      cniVersion,
      config,
      stdinData,
      env: io.env,
    };
    if (raw.prevResult !== undefined && raw.prevResult !== null) {
      ctx.prevResult = parseResultIn(raw.prevResult, cniVersion, 'prevResult', CniCode.InvalidNetworkConfig);
    }
    const started = Date.now();
    switch (env.command) {
      case 'ADD': {
        const result = await handlers.add(ctx);
        io.writeStdout(JSON.stringify(resultToVersion(result, cniVersion)));
        break;
      }
      case 'DEL':
        await handlers.del(ctx);
        break;
      case 'CHECK':
        await handlers.check(ctx);
        break;
      case 'GC':
        if (handlers.gc) await handlers.gc({ ...ctx, validAttachments: config['cni.dev/valid-attachments'] ?? config['cni.dev/attachments'] ?? [] });
        break;
      case 'STATUS':
        if (handlers.status) await handlers.status(ctx);
        break;
    }
    log.debug(`${env.command} done`, { network: config.name, containerId: env.containerId, ifname: env.ifname, ms: Date.now() - started });
    return 0;
  } catch (thrown) {
    const err = CniError.from(thrown);
    // The answer first: nothing about logging may keep it from the runtime.
    io.writeStdout(JSON.stringify(err.toJSON(errorVersion)));
    log.error(err.message, { code: err.code, details: err.details || undefined });
    return 1;
  }
}

/** A plugin's `logFile` names a file root appends to: only one nobody else can change (docs/security.md). */
function requireLogFile(path: string): void {
  try {
    checkTrustedPath(path, 'log');
  } catch (err) {
    if (err instanceof UntrustedPathError) throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "logFile": ${err.message}`, 'a log file in a directory only root can write, named *.log; see docs/security.md');
    throw err;
  }
}

/** The whole `main` of a plugin executable. */
export function pluginMain<C extends NetConf>(plugin: PluginDefinition<C>): void {
  const io: PluginIo = {
    env: process.env,
    stdin: () => process.stdin,
    stdinSync: () => readStdinSync(),
    writeStdout: (t) => writeOut(1, t),
    writeStderr: (t) => writeOut(2, t),
  };
  dispatch(plugin, io)
    .then(async (code) => {
      // Set before the logs are flushed: a log file that never settles cannot change the status.
      process.exitCode = code;
      await flushLogs();
    })
    .catch((err: unknown) => {
      process.stderr.write(`${plugin.name}: ${String(err)}\n`);
      process.exitCode = 1;
    });
}
