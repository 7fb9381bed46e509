import { join } from 'node:path';
import { execCommand, type ExecOptions, type ExecResult } from './exec';

/**
 * Absolute paths of the FreeBSD programs jailnet runs. JAILNET_FREEBSD_ROOT, when set, is
 * prepended to every path: the emulated FreeBSD host (emulator/) provides a tree with
 * sbin/ifconfig, usr/sbin/jail, ... and tests point this variable at it. On FreeBSD it is unset.
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

export const TOOL_ROOT_ENV = 'JAILNET_FREEBSD_ROOT';

export function toolPath(tool: Tool, env: NodeJS.ProcessEnv = process.env): string {
  const root = env[TOOL_ROOT_ENV];
  if (!root) return TOOL_PATHS[tool];
  if (!root.startsWith('/')) throw new Error(`${TOOL_ROOT_ENV} must be an absolute path, got "${root}"`);
  return join(root, TOOL_PATHS[tool]);
}

export function runTool(tool: Tool, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return execCommand(toolPath(tool), args, options);
}
