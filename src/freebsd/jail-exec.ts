import type { ExecOptions, ExecResult } from './exec';
import { isUnknownFlag } from './errors';
import { jailName } from './names';
import { runTool, TOOL_PATHS } from './tools';

/**
 * Runs ifconfig, route or netstat inside a jail: `tool -j JAIL ...` where the release has it
 * (14.x, 13.3+), otherwise `jexec JAIL /sbin/tool ...` (the jail then needs the program). The
 * first `-j` refusal switches this process to jexec for that tool, so an old host pays for the
 * probe once per tool and call at most.
 */

/** Per tool: whether its `-j` works (undefined until tried); the tools got `-j` in different releases. */
const jailFlag = new Map<string, boolean>();

export async function runInJail(tool: 'ifconfig' | 'route' | 'netstat', jail: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
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
  return runTool('jexec', [jail, TOOL_PATHS[tool], ...args], options);
}

/** For tests: forget what was learnt about `-j`. */
export function resetJailFlagProbe(): void {
  jailFlag.clear();
}
