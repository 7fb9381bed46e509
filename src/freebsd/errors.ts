import { CommandError } from './exec';

/**
 * Classification of FreeBSD command failures by their messages, so that callers can treat
 * "already there" and "already gone" as the success they are. Every pattern is a text FreeBSD
 * prints; the comment names the source that prints it, and test/unit/freebsd/errors.test.ts
 * feeds each text (and near misses) to its matcher.
 */

function text(err: unknown): string {
  return err instanceof CommandError ? `${err.stderr}\n${err.stdout}` : '';
}

/**
 * An interface that is not there: `ifconfig: interface X does not exist` (sbin/ifconfig/ifconfig.c,
 * main, before any change), `X: no such interface` (ifconfig.c's Perror for ENXIO) and
 * `SIOCIFDESTROY: Device not configured` (err(3) with ENXIO, sbin/ifconfig/ifclone.c), the same
 * with `ifconfig -j` inside a jail.
 */
export function isNoSuchInterface(err: unknown): boolean {
  return /interface \S+ does not exist|: no such interface|: Device not configured/.test(text(err)) && !isJailNotFound(err);
}

/**
 * `ifconfig epairN create` found unit N taken (nothing was created): `interface epairN already
 * exists` (ifconfig's message for EEXIST from SIOCIFCREATE2) or, from older ifconfigs,
 * `SIOCIFCREATE2: File exists`. Any other SIOCIFCREATE2 failure also created nothing.
 */
export function isCloneRefused(err: unknown): boolean {
  return /interface epair\d+ already exists|SIOCIFCREATE2/.test(text(err));
}

/**
 * A jail that is not there, as each tool says it:
 * - `jail "x" not found`, `jail 5 not found`: the kernel's jail_get(2) errmsg
 *   (sys/kern/kern_jail.c), passed on by libjail as jail_errmsg and printed by jls(8), jexec(8),
 *   `ifconfig IF vnet x` (setifvnet) and jail(8) (`jail: "x" not found`);
 * - `ifconfig -j`: `jail not found: No such file or directory` (jail_getid failed) and
 *   `cannot attach to jail: Invalid argument` (a JID that jail_attach(2) does not find:
 *   libjail's jail_getid returns an all-digits name unchecked), sbin/ifconfig/ifconfig.c;
 * - `route -j`: `Jail not found`, `Cannot attach to jail` (sbin/route/route.c);
 * - jexec with a JID: `jail_attach(5): Invalid argument` (usr.sbin/jexec/jexec.c).
 */
export function isJailNotFound(err: unknown): boolean {
  return /jail:? "[^"]*" not found|jail \d+ not found|jail not found: |cannot attach to jail: Invalid argument|Jail not found|Cannot attach to jail|jail_attach\(\d+\): Invalid argument/.test(text(err));
}

/**
 * getopt(3)'s complaint about a flag this release does not have (`-j` before 13.3):
 * `tool: illegal option -- j` (lib/libc/stdlib/getopt.c).
 */
export function isUnknownFlag(err: unknown, flag: string): boolean {
  return new RegExp(`illegal option -- ${flag}`).test(text(err));
}

/**
 * pf anchors and tables that are not there: pfr_strerror's `Table does not exist` (ESRCH) and
 * `Anchor or Ruleset does not exist` (ENOENT) in sbin/pfctl/pfctl_radix.c; pfctl.c's `Anchor does
 * not exist.` for -s/-F with -a in 14.x; 13.x's `DIOCGETRULES: Invalid argument` for -s rules
 * of a missing anchor.
 */
export function isPfObjectMissing(err: unknown): boolean {
  return /Table does not exist|Anchor or Ruleset does not exist|Anchor does not exist|DIOCGETRULES: Invalid argument/.test(text(err));
}

/**
 * The program itself is not there (exec.ts: "could not be started (ENOENT)"). On FreeBSD the
 * base tools always are; a host without them (jailnetd run alone for IPAM, on Linux in tests)
 * has no pf anchors or epairs of jailnet's to clean up.
 */
export function isToolMissing(err: unknown): boolean {
  return err instanceof CommandError && err.exitCode === null && /could not be started \(ENOENT\)/.test(err.message);
}
