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

/** libjail's jail_errmsg for a missing jail. */
export function jailNotFoundMessage(nameOrJid: string): string {
  return /^\d+$/.test(nameOrJid) ? `jail ${Number(nameOrJid)} not found` : `jail "${nameOrJid}" not found`;
}

export function requireJail(ctx: EmuContext, nameOrJid: string): JailRecord {
  const j = findJail(ctx, nameOrJid);
  if (!j) throw new ToolError(jailNotFoundMessage(nameOrJid));
  return j;
}

/** Where a command acts: the host, or the jail named by -j / JAILNET_EMU_JAIL. */
export interface Vnet {
  ns: string;
  /** 0 for the host's vnet, else the JID of the vnet jail. */
  jid: number;
  /** The jail the command runs in (set also for a non-vnet jail). */
  jail?: JailRecord;
}

export function vnetOf(ctx: EmuContext, jailArg?: string): Vnet {
  const name = jailArg ?? ctx.jail;
  if (name === undefined) return { ns: ctx.config.hostNs, jid: 0 };
  const j = requireJail(ctx, name);
  return j.vnet ? { ns: j.ns, jid: j.jid, jail: j } : { ns: ctx.config.hostNs, jid: 0, jail: j };
}

/** JID -> namespace of every vnet jail, plus 0 -> host. */
export function vnetNamespaces(ctx: EmuContext, state = readJails(ctx)): Map<number, string> {
  const m = new Map<number, string>([[0, ctx.config.hostNs]]);
  for (const j of state.jails) if (j.vnet) m.set(j.jid, j.ns);
  return m;
}
