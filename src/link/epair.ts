import { CniCode, CniError } from '../cni/errors';
import { CommandError } from '../freebsd/exec';
import { isCloneRefused, isJailNotFound } from '../freebsd/errors';
import { configureInterface, createEpair, createEpairUnit, destroyInterface, ifw, moveToJail, type IfWord } from '../freebsd/ifconfig';
import { findJail } from '../freebsd/jail';
import type { JailInfo } from '../freebsd/parse/jls';
import type { Rollback } from '../util/rollback';

/**
 * An epair(4) between host and jail: created, its host end named and described, its other end
 * moved into the jail. Destroying the host end later destroys both ends, wherever the other is.
 */

export interface HostEndSpec {
  name: string;
  /** epair units to ask for, in order (naming.ts epairUnits); the kernel's choice after them. */
  units: readonly number[];
  mac: string;
  description: string;
  group: string;
  mtu?: number;
  /** Address words for the host end (epair plugin: the gateway address). */
  addressWords?: IfWord[];
}

export interface Epair {
  hostEnd: string;
  /** The end that goes into the jail, still under its epairNb name. */
  jailEnd: string;
}

export async function createEpairLink(spec: HostEndSpec, rollback: Rollback): Promise<Epair> {
  // The link address is a family of its own: it leads the call, and is applied (with the other
  // words done) to the renamed interface.
  const words: IfWord[] = [ifw.ether(spec.mac), ifw.name(spec.name), ifw.description(spec.description), ifw.group(spec.group)];
  if (spec.mtu !== undefined) words.push(ifw.mtu(spec.mtu));
  words.push(ifw.up());
  // One call creates the epair and sets up its host end, with a unit of the attachment's own
  // (naming.ts epairUnits): the call prints nothing once `name` is in it, so the b end's name
  // must be known beforehand. A unit that is taken creates nothing; the next one is tried, and
  // after the last the kernel picks the unit and the host end is set up by a call of its own.
  for (const unit of spec.units) {
    let pair: { a: string; b: string };
    try {
      pair = await createEpairUnit(unit, words);
    } catch (err) {
      if (isCloneRefused(err)) continue;
      // ifconfig ran and stopped at a word after `create`: the epair is ours, its b end still has
      // its unit name and takes both ends. (One that did not run created nothing.)
      if (!(err instanceof CommandError) || err.exitCode === null) throw err;
      await destroyInterface(`epair${unit}b`).catch(() => false);
      throw hostEndConflict(err, spec.name) ?? err;
    }
    rollback.push(`epair ${pair.a}/${spec.name}`, () => destroyInterface(spec.name));
    if (spec.addressWords?.length) await configureInterface(spec.name, spec.addressWords);
    return { hostEnd: spec.name, jailEnd: pair.b };
  }
  const pair = await createEpair();
  // Until the host end is configured, the b end is still on the host under its own name: destroying
  // it takes both ends and cannot hit another attachment's host end (a repeated ADD finds that
  // name taken). Afterwards the host end is ours under its new name.
  let configured = false;
  rollback.push(`epair ${pair.a}/${spec.name}`, () => destroyInterface(configured ? spec.name : pair.b));
  try {
    await configureInterface(pair.a, words);
  } catch (err) {
    throw hostEndConflict(err, spec.name) ?? err;
  }
  configured = true;
  if (spec.addressWords?.length) await configureInterface(spec.name, spec.addressWords);
  return { hostEnd: spec.name, jailEnd: pair.b };
}

/** The host end's name is taken: this container and ifname are attached already. */
function hostEndConflict(err: unknown, name: string): CniError | undefined {
  if (!(err instanceof CommandError && /SIOCSIFNAME/.test(err.stderr) && /File exists/.test(err.stderr))) return undefined;
  return new CniError(CniCode.ResourceConflict, `host interface ${name} already exists: this container and ifname are already attached`, 'DEL the attachment first (ADD is not repeated for the same container and ifname)');
}

/**
 * The jail as `jls -j JAIL jid name vnet` shows it, before ADD changes anything: code 3 when
 * there is no such jail, 4 when it shares the host's network stack.
 */
export async function requireVnetJail(jail: string): Promise<JailInfo> {
  const info = await findJail(jail);
  if (!info) throw jailMissing(jail);
  if (info.vnet !== 'new') throw notVnetJail(jail);
  return info;
}

/** Moves the jail end into the vnet jail, turning FreeBSD's errors into what went wrong. */
export async function moveIntoJail(ifname: string, jail: string): Promise<void> {
  try {
    await moveToJail(ifname, jail);
  } catch (err) {
    if (isJailNotFound(err)) throw jailMissing(jail);
    if (err instanceof CommandError && /SIOCSIFVNET/.test(err.stderr)) {
      const info = await findJail(jail);
      if (!info) throw jailMissing(jail);
      if (info.vnet !== 'new') throw notVnetJail(jail);
    }
    throw err;
  }
}

export function jailMissing(jail: string): CniError {
  return new CniError(CniCode.UnknownContainer, `jail ${jail} does not exist`, 'CNI_NETNS must name a running vnet jail');
}

function notVnetJail(jail: string): CniError {
  return new CniError(CniCode.InvalidEnvironment, `jail ${jail} is not a vnet jail`, 'create the jail with its own network stack (jail -c ... vnet, or runj with "vnet": "new")');
}
