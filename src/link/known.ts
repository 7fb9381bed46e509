import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Family } from '../net/cidr';
import { runDir } from '../util/file-lock';

/**
 * What earlier ADDs on this boot established, so that later ones need not read it from the
 * host again (issue 13): per jail, whether its lo0 is up with 127.0.0.1 and which attachment
 * gave it its default route of each family; per bridge, the gateways it holds and its MAC.
 *
 * Kept as small files in `<run dir>/known/` (/var/run/jailnet/known, emptied at boot by
 * rc.d/cleanvar, and the JIDs start again with the boot), each written whole under a
 * temporary name and renamed, each fact its own file so that no two calls ever read, change and
 * write the same one. A jail's files carry its JID in their name: a jail made again under the
 * same name is another jail and knows nothing. A file that is missing or cannot be read is
 * "not known", and the ADD reads the host as before; so losing any of it costs a command, never
 * a wrong setting. jailnetd's jail check removes the files of jails that are gone
 * (forgetVanishedJails). What is written here is what jailnet itself set up or saw; a change
 * made by hand since (a gateway removed from the bridge, lo0 taken down) is for CHECK to find.
 */

export interface KnownBridge {
  /** The gateway addresses ("address/prefix") it holds. */
  gateways: string[];
  mac?: string;
}

/** A jail as `jls` named it: the JID tells this jail from an earlier one of the same name. */
export interface JailIdentity {
  name: string;
  jid: number;
}

function knownDir(): string {
  return join(runDir(), 'known');
}

function read(file: string): string | undefined {
  try {
    return readFileSync(join(knownDir(), file), 'utf8');
  } catch {
    return undefined;
  }
}

/** Best effort: a fact that cannot be written is simply not known next time. */
function write(file: string, content: string): void {
  try {
    const dir = knownDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${file}.${process.pid}.tmp`);
    writeFileSync(tmp, content, { mode: 0o600 });
    renameSync(tmp, join(dir, file));
  } catch {
    /* not known next time */
  }
}

function forget(file: string): void {
  try {
    rmSync(join(knownDir(), file), { force: true });
  } catch {
    /* gone or not ours to remove: either way not relied on */
  }
}

const jailPrefix = (j: JailIdentity) => `jail.${j.name}.${j.jid}.`;
const bridgeFile = (name: string) => `bridge.${name}`;

export const known = {
  /** lo0 of this jail is up with 127.0.0.1 (jailnet set it, or saw it so). */
  loopbackReady: (j: JailIdentity): boolean => read(`${jailPrefix(j)}lo0`) !== undefined,
  setLoopbackReady: (j: JailIdentity): void => write(`${jailPrefix(j)}lo0`, ''),

  /** The attachment (its host end's name) whose ADD gave the jail its default route of `family`, if one did and its host end is not destroyed. */
  defaultRouteOwner: (j: JailIdentity, family: Family): string | undefined => read(`${jailPrefix(j)}route${family}`),
  setDefaultRouteOwner: (j: JailIdentity, family: Family, owner: string): void => write(`${jailPrefix(j)}route${family}`, owner),
  /** The host end `owner` is about to be destroyed, and the default routes through it with it. */
  forgetDefaultRoutesOf(owner: string): void {
    for (const f of names()) if (/^jail\..+\.\d+\.route[46]$/.test(f) && read(f) === owner) forget(f);
  },

  bridge(name: string): KnownBridge | undefined {
    const text = read(bridgeFile(name));
    if (text === undefined) return undefined;
    try {
      const v = JSON.parse(text) as KnownBridge;
      return Array.isArray(v.gateways) && v.gateways.every((g) => typeof g === 'string') && (v.mac === undefined || typeof v.mac === 'string') ? v : undefined;
    } catch {
      return undefined;
    }
  },
  setBridge: (name: string, b: KnownBridge): void => write(bridgeFile(name), JSON.stringify(b)),
  forgetBridge: (name: string): void => forget(bridgeFile(name)),
};

function names(): string[] {
  try {
    return readdirSync(knownDir());
  } catch {
    return [];
  }
}

/** Removes what is known of jails that are not running any more (jailnetd's jail check, with its `jls`). */
export function forgetVanishedJails(running: readonly JailIdentity[]): void {
  const alive = new Set(running.map(jailPrefix));
  for (const f of names()) {
    const m = /^(jail\..+\.\d+\.)(lo0|route[46])$/.exec(f);
    if (m && !alive.has(m[1] as string)) forget(f);
  }
}
