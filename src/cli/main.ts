/**
 * jailnet: the admin and runtime command line (docs/cli.md). `jailnet hook ...` (runj) takes a
 * path without yargs; everything else goes through the yargs command line.
 */
import { CniError } from '../cni/errors';
import { configureLogging, flushLogs } from '../log/logger';
import { runHook } from './hook';

async function main(argv: string[]): Promise<void> {
  configureLogging({ component: 'jailnet' });
  if (argv[0] === 'hook' && argv[1] !== '--help') return runHook(argv.slice(1));
  const { runCommandLine } = await import('./commands');
  return runCommandLine(argv);
}

main(process.argv.slice(2))
  .catch((err: unknown) => {
    const e = CniError.from(err);
    process.stderr.write(`jailnet: ${e.message}\n${e.details ? `  ${e.details.split('\n').join('\n  ')}\n` : ''}`);
    process.exitCode = 1;
  })
  .finally(() => void flushLogs());
