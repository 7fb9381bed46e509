import { versionInfo } from './version';
import { writeOut } from './write-out';

/**
 * The start of every shipped jailnet plugin executable. scripts/build.mjs bundles the plugin
 * itself (the dispatcher of skel.ts, its handlers, schemas and host layer) apart, carries that
 * bundle as the executable's trailing block comment, and makes the executable this module plus a
 * call to `launch` with the function that reads the comment back and compiles it (`runEmbedded`).
 *
 * VERSION is answered here, from the dispatcher's own versionInfo(), before the plugin's code is
 * even parsed: runtimes ask it of every plugin of a chain (libcni before GC and STATUS, cnitool,
 * containerd's and podman's checks), and the 100-200 kB of a plugin cost its start-up a fifth more
 * than a bare Node start (docs/performance.md). The answer is the one the dispatcher gives:
 * VERSION takes no variable but CNI_COMMAND and reads no stdin. Every other call, a missing or
 * unknown CNI_COMMAND included, goes to the plugin.
 */
export function launch(name: string, runPlugin: () => void, env: NodeJS.ProcessEnv = process.env): void {
  if (env.CNI_COMMAND !== 'VERSION') return runPlugin();
  try {
    writeOut(1, JSON.stringify(versionInfo()));
  } catch (err) {
    // As the dispatcher's last resort does (skel.ts pluginMain): stdout itself failed.
    process.stderr.write(`${name}: ${String(err)}\n`);
    process.exitCode = 1;
  }
}
