import type { ExecOptions, ExecResult } from './exec';
import { isJailNotFound } from './errors';
import { jailName } from './names';
import { parseJlsJidNameVnet, type JailInfo } from './parse/jls';
import { runTool } from './tools';

/** jail(8), jexec(8) and jls(8) operations. */

/** `jls -j JAIL jid name vnet`: the jail, or undefined when there is none by that name or JID. */
export async function findJail(jail: string): Promise<JailInfo | undefined> {
  try {
    const r = await runTool('jls', ['-j', jailName(jail), 'jid', 'name', 'vnet']);
    return parseJlsJidNameVnet(r.stdout)[0];
  } catch (err) {
    if (isJailNotFound(err)) return undefined;
    throw err;
  }
}

/** `jls jid name vnet`: every running jail. */
export async function listJails(): Promise<JailInfo[]> {
  const r = await runTool('jls', ['jid', 'name', 'vnet']);
  return parseJlsJidNameVnet(r.stdout);
}

/** `jail -c name=NAME persist vnet`: a vnet jail with no filesystem and no process. */
export async function createVnetJail(name: string): Promise<void> {
  await runTool('jail', ['-c', `name=${jailName(name)}`, 'persist', 'vnet']);
}

/** `jail -r NAME`. False when there was no such jail. */
export async function removeJail(name: string): Promise<boolean> {
  try {
    await runTool('jail', ['-r', jailName(name)]);
    return true;
  } catch (err) {
    if (isJailNotFound(err)) return false;
    throw err;
  }
}

/** `jexec JAIL argv...`: argv[0] is a path inside the jail. */
export function jexec(jail: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0 || !(argv[0] as string).startsWith('/')) throw new Error('jexec needs an absolute program path inside the jail');
  return runTool('jexec', [jailName(jail), ...argv], options);
}
