import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What a bench run makes outside itself (temp dirs, network namespaces, control groups) carries
 * the run's pid in its name, so that what a killed run left (its exit hooks never ran) is found
 * and removed by the next run, and what a run still going has is left alone.
 */

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in `<prefix><pid>-...`, when the name is of that form. */
export function pidOfName(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d+)-/.exec(name.slice(prefix.length));
  return m ? Number(m[1]) : undefined;
}

/** A temp dir `<tmp>/<prefix><pid>-XXXXXX`; first removes those of the prefix whose run is gone. */
export function runTempDir(prefix: string): string {
  for (const name of readdirSync(tmpdir())) {
    const pid = pidOfName(name, prefix);
    if (pid !== undefined && !pidAlive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  return mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
}
