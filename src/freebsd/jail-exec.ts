import { CniCode, CniError } from '../cni/errors';
import { CommandError, type ExecOptions, type ExecResult } from './exec';
import { isUnknownFlag } from './errors';
import { jailName } from './names';
import { runTool, TOOL_PATHS } from './tools';

/**
 * Runs ifconfig, route, netstat or sysctl inside a jail: `tool -j JAIL ...` where the release has it,
 * otherwise `jexec JAIL /sbin/tool ...`, which runs the jail's own copy of the program: it needs
 * /sbin/ifconfig, /sbin/route (and, for CHECK of a multipath default route, /usr/bin/netstat) in
 * the jail's filesystem (docs/architecture.md, "Releases"). The first `-j` refusal switches this
 * process to jexec for that tool (the tools got `-j` in different releases), so an old host pays
 * for the probe once per tool and call at most.
 */

/** Per tool: whether its `-j` works (undefined until tried); the tools got `-j` in different releases. */
const jailFlag = new Map<string, boolean>();

export async function runInJail(tool: 'ifconfig' | 'route' | 'netstat' | 'sysctl', jail: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  jailName(jail);
  if (jailFlag.get(tool) !== false) {
    try {
      const r = await runTool(tool, ['-j', jail, ...args], options);
      jailFlag.set(tool, true);
      return r;
    } catch (err) {
      if (jailFlag.get(tool) === true || !isUnknownFlag(err, 'j')) throw err;
      jailFlag.set(tool, false);
    }
  }
  // Inside the jail the program is found at its FreeBSD path.
  const program = TOOL_PATHS[tool];
  try {
    return await runTool('jexec', [jail, program, ...args], options);
  } catch (err) {
    if (!isToolMissingInJail(err, program)) throw err;
    throw new CniError(
      CniCode.HostCommandFailed,
      `jail ${jail} has no ${program}: this FreeBSD's ${tool} has no -j, so jailnet runs the jail's own ${program} with jexec`,
      `upgrade the host to a release whose ifconfig and route take -j (docs/architecture.md, "Releases"), or put /sbin/ifconfig and /sbin/route into the jail's filesystem\n${(err as CommandError).details}`,
    );
  }
}

/**
 * jexec could not start PROGRAM in the jail: usr.sbin/jexec/jexec.c prints
 * `jexec: execvp: PROGRAM: No such file or directory` when the jail's filesystem lacks it.
 */
export function isToolMissingInJail(err: unknown, program: string): boolean {
  return err instanceof CommandError && err.stderr.includes(`execvp: ${program}: No such file or directory`);
}

/** For tests: forget what was learnt about `-j`. */
export function resetJailFlagProbe(): void {
  jailFlag.clear();
}
