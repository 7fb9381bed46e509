/**
 * The names a jail answers to on a network (docs/dns.md): where they come from, and which are
 * valid. A name is a host name of RFC 1123 labels (letters, digits and "-", 1 to 63 characters,
 * not starting or ending with "-"), at most 253 characters, matched without regard to case.
 * jailnetd's DNS server answers A, AAAA and PTR records for them on the attachment's network.
 */

/** At most this many names per attachment (a jail's name, its pod name and aliases). */
export const MAX_NAMES = 32;
const MAX_NAME_LENGTH = 253;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` is not a host name, or undefined when it is one. */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return `must have 1 to ${MAX_NAME_LENGTH} characters`;
  for (const label of name.toLowerCase().split('.')) {
    if (!LABEL.test(label)) return 'must be labels of letters, digits and "-" (1 to 63 characters, not starting or ending with "-") separated by "."';
  }
  return undefined;
}

/** The form names are stored and compared in: lower case, no trailing dot. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A name that is not a host name, with where it came from. */
export class InvalidDnsName extends Error {
  constructor(
    readonly source: string,
    readonly value: unknown,
    problem: string,
  ) {
    super(`${source}: ${JSON.stringify(value)} is not a valid DNS name: it ${problem}`);
    this.name = 'InvalidDnsName';
  }
}

export interface NameSources {
  /** runtimeConfig.aliases: a list, or (podman's form) a map of network name to list. */
  aliases?: unknown;
  /** CNI_ARGS K8S_POD_NAME. */
  podName?: string;
  /** The jail's own name (CNI_NETNS, or the container ID). */
  jail: string;
  /** The network, to pick its list from a map of aliases. */
  network: string;
}

export interface GatheredNames {
  /** Canonical, without duplicates, in priority order: the first is the one PTR records give. */
  names: string[];
  /** The jail's name when it is not a valid DNS name (it is then left out rather than refused). */
  skippedJail?: string;
}

/**
 * The attachment's names in priority order: runtimeConfig.aliases (which is also how `jailnet
 * attach --name/--alias` and the runj hook's annotations arrive), K8S_POD_NAME, then the jail's
 * own name. A name given explicitly that is not a host name is refused (InvalidDnsName); the
 * jail's own name, which runtimes choose freely (a 64-digit container ID, "_"), is left out.
 */
export function gatherNames(src: NameSources): GatheredNames {
  const out: string[] = [];
  const add = (name: string) => {
    const c = canonicalName(name);
    if (!out.includes(c)) out.push(c);
  };
  const given = aliasList(src.aliases, src.network);
  given.forEach((name, i) => {
    const problem = nameProblem(name);
    if (problem) throw new InvalidDnsName(`runtimeConfig.aliases[${i}]`, name, problem);
    add(name as string);
  });
  if (src.podName !== undefined && src.podName !== '') {
    const problem = nameProblem(src.podName);
    if (problem) throw new InvalidDnsName('CNI_ARGS K8S_POD_NAME', src.podName, problem);
    add(src.podName);
  }
  const result: GatheredNames = { names: out };
  if (nameProblem(src.jail) === undefined) add(src.jail);
  else result.skippedJail = src.jail;
  if (out.length > MAX_NAMES) throw new InvalidDnsName('runtimeConfig.aliases', `${out.length} names`, `is more than ${MAX_NAMES} names for one attachment`);
  result.names = out;
  return result;
}

function aliasList(aliases: unknown, network: string): unknown[] {
  if (aliases === undefined || aliases === null) return [];
  if (Array.isArray(aliases)) return aliases;
  if (typeof aliases === 'object') {
    const mine = (aliases as Record<string, unknown>)[network];
    if (mine === undefined) return [];
    if (Array.isArray(mine)) return mine;
    throw new InvalidDnsName(`runtimeConfig.aliases.${network}`, mine, 'is not a list of names');
  }
  throw new InvalidDnsName('runtimeConfig.aliases', aliases, 'is neither a list of names nor a map of network names to lists');
}

/** The domain of a network's names: `dns.domain` of its file, else the network's name when that is a host name. */
export function networkDomain(network: string, configured: string | undefined): string | undefined {
  if (configured !== undefined && configured !== '') return canonicalName(configured);
  return nameProblem(network) === undefined ? canonicalName(network) : undefined;
}
