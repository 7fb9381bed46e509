import { CniCode, CniError } from './errors';

/**
 * The CNI_* environment of one plugin call, checked per command as SPEC.md and libcni require.
 */

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  /** Raw CNI_ARGS; see args.ts. */
  args: string;
  /** CNI_PATH split on ':' with empty entries dropped. */
  path: string[];
}

type EnvName = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME';

/** Which variables each command needs (cni.md "Invocation"). */
const REQUIRED: Record<CniCommand, readonly EnvName[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  GC: [],
  STATUS: [],
  VERSION: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_CONTAINER_ID = 256;
const MAX_IFNAME = 15;

export function readCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (command === '') {
    throw new CniError(CniCode.InvalidEnvironment, 'required environment variable CNI_COMMAND is missing', `set CNI_COMMAND to one of ${CNI_COMMANDS.join(', ')}`);
  }
  if (!(CNI_COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND "${command}"`, `CNI_COMMAND must be one of ${CNI_COMMANDS.join(', ')}`);
  }
  const cmd = command as CniCommand;
  const missing = REQUIRED[cmd].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new CniError(
      CniCode.InvalidEnvironment,
      `required environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing for ${cmd}`,
      `a CNI runtime sets ${REQUIRED[cmd].join(', ')} for ${cmd}`,
    );
  }
  const out: CniEnv = {
    command: cmd,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
  if (cmd !== 'VERSION' && cmd !== 'GC' && cmd !== 'STATUS') {
    validateContainerId(out.containerId);
    validateIfname(out.ifname);
  }
  return out;
}

export function validateContainerId(id: string): void {
  if (id.length > MAX_CONTAINER_ID || !CONTAINER_ID.test(id)) {
    throw new CniError(
      CniCode.InvalidEnvironment,
      `invalid CNI_CONTAINERID ${JSON.stringify(id.slice(0, 80))}`,
      `a container ID starts with a letter or digit, holds only letters, digits, "_", "." and "-", and has at most ${MAX_CONTAINER_ID} characters`,
    );
  }
}

/** The spec's rule for CNI_IFNAME (SPEC.md, libcni ValidateInterfaceName). */
export function validateIfname(name: string): void {
  const bad = (why: string): never => {
    throw new CniError(CniCode.InvalidEnvironment, `invalid CNI_IFNAME ${JSON.stringify(name.slice(0, 40))}: ${why}`, 'an interface name has 1 to 15 characters, is not "." or "..", and has no "/", ":" or whitespace');
  };
  if (name.length > MAX_IFNAME) bad(`longer than ${MAX_IFNAME} characters`);
  if (name === '.' || name === '..') bad('"." and ".." are not interface names');
  if (/[/:\s]/.test(name)) bad('contains "/", ":" or whitespace');
}
