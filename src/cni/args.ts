import { CniCode, CniError } from './errors';

/**
 * CNI_ARGS: "K=V;K2=V2". Keys are case-sensitive. As in the reference library, a key the
 * plugin does not know is an error unless IgnoreUnknown is true.
 */

export type CniArgs = ReadonlyMap<string, string>;

const BOOL_TRUE = new Set(['1', 'true']);
const BOOL_FALSE = new Set(['0', 'false']);

export function parseCniArgs(raw: string, known: readonly string[]): CniArgs {
  const args = new Map<string, string>();
  if (raw === '') return args;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: invalid pair ${JSON.stringify(pair)}`, 'CNI_ARGS must be a list of KEY=VALUE pairs separated by ";"');
    }
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ignoreRaw = args.get('IgnoreUnknown');
  let ignoreUnknown = false;
  if (ignoreRaw !== undefined) {
    const v = ignoreRaw.toLowerCase();
    if (BOOL_TRUE.has(v)) ignoreUnknown = true;
    else if (!BOOL_FALSE.has(v)) {
      throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: IgnoreUnknown=${JSON.stringify(ignoreRaw)} is not a boolean`, 'use IgnoreUnknown=1 or IgnoreUnknown=true');
    }
  }
  if (!ignoreUnknown) {
    const unknown = [...args.keys()].filter((k) => k !== 'IgnoreUnknown' && !known.includes(k));
    if (unknown.length > 0) {
      throw new CniError(
        CniCode.InvalidEnvironment,
        `CNI_ARGS: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}`,
        `this plugin understands ${known.length ? known.join(', ') : 'no keys'}; add IgnoreUnknown=1 to pass others through`,
      );
    }
  }
  return args;
}

/** The addresses of `IP=` (one, or several separated by ","), as given. */
export function argsIps(args: CniArgs): string[] {
  const raw = args.get('IP');
  if (raw === undefined || raw === '') return [];
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
