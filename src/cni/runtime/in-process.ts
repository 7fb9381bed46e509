import { Readable } from 'node:stream';
import type { PluginRun } from '../../freebsd/plugin-exec';
import { configureLogging, type LogSettings } from '../../log/logger';
import { dispatch, type PluginDefinition } from '../skel';
import type { NetConf } from '../types';

/**
 * Plugins a runtime runs inside its own process instead of starting their executables: CNI type
 * -> the plugin's definition (the same one its executable's `pluginMain` runs). Open to any
 * type that has a definition; a type missing here is run as an executable.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InProcessPlugin = PluginDefinition<any>;
export type InProcessPlugins = ReadonlyMap<string, InProcessPlugin>;

/**
 * One CNI call of a plugin through its dispatcher, in this process: the same environment and
 * stdin its executable would get, and its stdout and exit status as the executable would have
 * given them (stderr goes to this process's stderr, as the plugin's log lines). The dispatcher
 * points logging at the plugin while it runs and the caller's settings are put back after; with
 * `logging: 'keep'` (jailnetd, which runs chains for several clients at once) the plugin logs
 * through the caller's settings as they are.
 */
export async function runInProcess(def: PluginDefinition<NetConf>, env: NodeJS.ProcessEnv, stdin: string, logging: 'keep' | (Partial<LogSettings> & { component: string })): Promise<PluginRun> {
  let stdout = '';
  try {
    const exitCode = await dispatch(def, {
      env,
      stdin: () => Readable.from([Buffer.from(stdin)]),
      writeStdout: (t) => {
        stdout += t;
      },
      writeStderr: (t) => {
        process.stderr.write(t);
      },
      keepLogging: logging === 'keep',
    });
    return { exitCode, stdout, stderr: '' };
  } finally {
    if (logging !== 'keep') configureLogging(logging);
  }
}
