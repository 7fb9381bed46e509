/** Parsers of jls(8) output. */

export type VnetMode = 'new' | 'inherit' | 'disable';

export interface JailInfo {
  jid: number;
  name: string;
  vnet: VnetMode;
}

/**
 * `jls [-j J] jid name vnet`: one line per jail, values separated by spaces. jls prints the
 * jailsys parameter vnet as "new"/"inherit"/"disable" (jailparam_export); the numeric form
 * (JAIL_SYS_NEW 1, JAIL_SYS_INHERIT 2, JAIL_SYS_DISABLE 0) is accepted too. A line whose third
 * word is none of these is not a jid/name/vnet line (the default table's rows also start with a
 * JID) and is skipped.
 */
export function parseJlsJidNameVnet(output: string): JailInfo[] {
  const out: JailInfo[] = [];
  for (const line of output.split('\n')) {
    const words = line.trim().split(/\s+/);
    const vnet = VNET_WORDS[words[2] as string];
    if (words.length !== 3 || !/^\d+$/.test(words[0] as string) || vnet === undefined) continue;
    out.push({ jid: Number(words[0]), name: words[1] as string, vnet });
  }
  return out;
}

const VNET_WORDS: Record<string, VnetMode> = { new: 'new', 1: 'new', inherit: 'inherit', 2: 'inherit', disable: 'disable', 0: 'disable' };
