/** Parsers of jls(8) output. */

export type VnetMode = 'new' | 'inherit' | 'disable';

export interface JailInfo {
  jid: number;
  name: string;
  vnet: VnetMode;
}

/**
 * `jls [-j J] jid name vnet`: one line per jail, values separated by spaces. jls prints the
 * jailsys parameter vnet as "new"/"inherit"/"disable"; the numeric form (1/2/0) is accepted too.
 */
export function parseJlsJidNameVnet(output: string): JailInfo[] {
  const out: JailInfo[] = [];
  for (const line of output.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 3 || !/^\d+$/.test(words[0] as string)) continue;
    out.push({ jid: Number(words[0]), name: words[1] as string, vnet: parseVnet(words[2] as string) });
  }
  return out;
}

function parseVnet(v: string): VnetMode {
  switch (v) {
    case 'new':
    case '1':
      return 'new';
    case 'disable':
    case '0':
      return 'disable';
    default:
      return 'inherit';
  }
}
