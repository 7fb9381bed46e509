import { join } from 'node:path';
import { execCommand, type ExecOptions, type ExecResult } from './exec';

/**
 * Absolute paths of the FreeBSD programs jailnet runs. JAILNET_FREEBSD_ROOT, when set, is
 * prepended to every path: the emulated FreeBSD host (emulator/) provides a tree with
 * sbin/ifconfig, usr/sbin/jail, ... and tests point this variable at it. It is a test switch:
 * the installed executables do not have it (util/test-switches.ts).
 */
export const TOOL_PATHS = {
  ifconfig: '/sbin/ifconfig',
  route: '/sbin/route',
  sysctl: '/sbin/sysctl',
  pfctl: '/sbin/pfctl',
  jail: '/usr/sbin/jail',
  jexec: '/usr/sbin/jexec',
  jls: '/usr/sbin/jls',
  netstat: '/usr/bin/netstat',
} as const;

export type Tool = keyof typeof TOOL_PATHS;

export function toolPath(tool: Tool, env: NodeJS.ProcessEnv = process.env): string {
  // A test switch: see util/test-switches.ts for why it is written out like this.
  if (globalThis.JAILNET_TEST_SWITCHES !== false) {
    const root = env['JAILNET_FREEBSD_ROOT'];
    if (root) {
      if (!root.startsWith('/')) throw new Error(`JAILNET_FREEBSD_ROOT must be an absolute path, got "${root}"`);
      return join(root, TOOL_PATHS[tool]);
    }
  }
  return TOOL_PATHS[tool];
}

export function runTool(tool: Tool, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return execCommand(toolPath(tool), args, options);
}
