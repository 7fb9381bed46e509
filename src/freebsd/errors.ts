import { CommandError } from './exec';

/**
 * Classification of FreeBSD command failures by their messages (freebsd.md "Errors"), so that
 * callers can treat "already there" and "already gone" as the success they are.
 */

function text(err: unknown): string {
  return err instanceof CommandError ? `${err.stderr}\n${err.stdout}` : '';
}

/** `ifconfig: interface X does not exist`, and the same from route/ifconfig inside a jail. */
export function isNoSuchInterface(err: unknown): boolean {
  return /interface \S+ does not exist|does not exist|Device not configured/.test(text(err)) && !isJailNotFound(err);
}

/** `jail "x" not found` from ifconfig, jexec, jls, route, and `jail: "x" not found` from jail -r. */
export function isJailNotFound(err: unknown): boolean {
  return /jail:? "[^"]*" not found|jail \S+ not found/.test(text(err));
}

/** getopt's complaint about a flag this release does not have (e.g. `-j` before 13.3). */
export function isUnknownFlag(err: unknown, flag: string): boolean {
  return new RegExp(`illegal option -- ${flag}|unknown option -- ${flag}|invalid option -- ${flag}`).test(text(err));
}

/** pf anchors and tables that are not there. */
export function isPfObjectMissing(err: unknown): boolean {
  return /does not exist|Table does not exist|No such file or directory|Anchor does not exist/.test(text(err));
}

/**
 * The program itself is not there (exec.ts: "could not be started (ENOENT)"). On FreeBSD the
 * base tools always are; a host without them (jailnetd run alone for IPAM, on Linux in tests)
 * has no pf anchors or epairs of jailnet's to clean up.
 */
export function isToolMissing(err: unknown): boolean {
  return err instanceof CommandError && err.exitCode === null && /could not be started \(ENOENT\)/.test(err.message);
}
