/**
 * jailnet: the admin and runtime command line (docs/cli.md). `jailnet hook ...` (runj) reads
 * its own arguments (src/cli/hook.ts); every other command goes through the grammar of
 * src/cli/commands.ts. Nothing is loaded that the command does not need: the hook, a thin client
 * of jailnetd on most calls, loads neither the grammar nor node:http; the commands that change
 * the host, and the plugins they run, are in core.ts, compiled on first use.
 */
import { CniCode, CniError } from '../cni/errors';
import { readStdin, readStdinSync } from '../cni/stdin';
import type * as Argv from './argv';
import type * as Commands from './commands';
import { loadCore, loadedCore } from './core-loader';
import { hookViaDaemon } from './hook-client';
import { print } from './output';
import { cliPaths } from './paths';

// The grammar, loaded by the commands that use it (a bundler turns these into lazy initializers).
/* eslint-disable @typescript-eslint/no-require-imports */
const argvModule = (): typeof Argv => require('./argv') as typeof Argv;
const commandsModule = (): typeof Commands => require('./commands') as typeof Commands;
/* eslint-enable @typescript-eslint/no-require-imports */

/** runj's hook: run by jailnetd when it answers (hook-client.ts), else here. */
async function hook(args: string[]): Promise<void> {
  // The OCI state with read(2): process.stdin on a pipe would load the stream modules.
  const early = readStdinSync();
  const state = (early.complete ? early.data : await readStdin(process.stdin, undefined, early.data)).toString('utf8');
  if ((await hookViaDaemon(cliPaths().daemonSocket, args, state, process.env)) === 'done') return;
  await loadCore().runHookWith(args, state, { env: process.env });
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'hook' && !argv.includes('--help')) return hook(argv.slice(1));
  const parsed = argvModule().parseArgv(commandsModule().COMMAND_LINE, argv);
  if (parsed.kind === 'help') {
    print(parsed.text);
    return;
  }
  await parsed.command.run?.(parsed.args);
}

main(process.argv.slice(2))
  .catch((err: unknown) => {
    // An error of core.ts is an instance of its own CniError class.
    const core = loadedCore();
    const e = err instanceof argvModule().UsageError ? new CniError(CniCode.InvalidEnvironment, err.message) : core && !(err instanceof CniError) ? core.errorOf(err) : CniError.from(err);
    process.stderr.write(`jailnet: ${e.message}\n${e.details ? `  ${e.details.split('\n').join('\n  ')}\n` : ''}`);
    process.exitCode = 1;
  })
  .finally(() => void loadedCore()?.flushLogs());
