import { ToolError, readState, writeState, type EmuContext } from './context';

/** The jails of an emulated host (state file jails.json, written with the 'state' lock held). */

export interface JailRecord {
  jid: number;
  name: string;
  vnet: boolean;
  /** Network namespace of the jail's vnet (the host's namespace for a non-vnet jail). */
  ns: string;
  path: string;
  hostname: string;
  persist: boolean;
}

export interface JailsState {
  lastJid: number;
  jails: JailRecord[];
}

export const JAILS_FILE = 'jails.json';

export function readJails(ctx: EmuContext): JailsState {
  return readState<JailsState>(ctx, JAILS_FILE, { lastJid: 0, jails: [] });
}

export function writeJails(ctx: EmuContext, s: JailsState): void {
  writeState(ctx, JAILS_FILE, s);
}

/** A jail by name or, for an all-digits word, by JID (as libjail's jail_getid does). */
export function findJail(ctx: EmuContext, nameOrJid: string, state = readJails(ctx)): JailRecord | undefined {
  if (/^\d+$/.test(nameOrJid)) {
    const jid = Number(nameOrJid);
    return state.jails.find((j) => j.jid === jid);
  }
  return state.jails.find((j) => j.name === nameOrJid);
}

/** The kernel's jail_get(2) errmsg for a missing jail, which libjail passes on (jail_errmsg). */
export function jailNotFoundMessage(nameOrJid: string): string {
  return isJid(nameOrJid) ? `jail ${Number(nameOrJid)} not found` : `jail "${nameOrJid}" not found`;
}

/**
 * Whether libjail's jail_getid() takes the word for a JID. It returns an all-digits word as
 * the JID without asking the kernel (lib/libjail/jail.c), so a missing JID is noticed only by
 * the jail_attach(2) or ioctl that uses it (EINVAL / ENXIO), with that call's message.
 */
export function isJid(nameOrJid: string): boolean {
  return /^\d+$/.test(nameOrJid);
}

/**
 * How a tool given `-j JAIL` reports a jail that is not there: jail_getid() fails for a name,
 * jail_attach(2) for a JID. ifconfig (sbin/ifconfig/ifconfig.c) uses Perror, i.e. err(3) with
 * errno: `jail not found: No such file or directory` (jail_get's ENOENT) and `cannot attach to
 * jail: Invalid argument` (jail_attach's EINVAL); route (sbin/route/route.c) uses errx(3):
 * `Jail not found`, `Cannot attach to jail`. Both exit with status 1.
 */
export type JailFlagTool = 'ifconfig' | 'route' | 'libjail';

export function missingJailError(tool: JailFlagTool, nameOrJid: string): ToolError {
  const jid = isJid(nameOrJid);
  if (tool === 'ifconfig') return new ToolError(jid ? 'cannot attach to jail: Invalid argument' : 'jail not found: No such file or directory');
  if (tool === 'route') return new ToolError(jid ? 'Cannot attach to jail' : 'Jail not found');
  return new ToolError(jailNotFoundMessage(nameOrJid));
}

/** Where a command acts: the host, or the jail named by -j / JAILNET_EMU_JAIL. */
export interface Vnet {
  ns: string;
  /** 0 for the host's vnet, else the JID of the vnet jail. */
  jid: number;
  /** The jail the command runs in (set also for a non-vnet jail). */
  jail?: JailRecord;
}

export function vnetOf(ctx: EmuContext, jailArg?: string, tool: JailFlagTool = 'libjail'): Vnet {
  const name = jailArg ?? ctx.jail;
  if (name === undefined) return { ns: ctx.config.hostNs, jid: 0 };
  const j = findJail(ctx, name);
  if (!j) throw missingJailError(tool, name);
  return j.vnet ? { ns: j.ns, jid: j.jid, jail: j } : { ns: ctx.config.hostNs, jid: 0, jail: j };
}

/** JID -> namespace of every vnet jail, plus 0 -> host. */
export function vnetNamespaces(ctx: EmuContext, state = readJails(ctx)): Map<number, string> {
  const m = new Map<number, string>([[0, ctx.config.hostNs]]);
  for (const j of state.jails) if (j.vnet) m.set(j.jid, j.ns);
  return m;
}
