import { CommandError } from '../../../src/freebsd/exec';
import { isJailNotFound, isNoSuchInterface, isPfObjectMissing, isUnknownFlag } from '../../../src/freebsd/errors';
import { isRouteExists, isRouteMissing } from '../../../src/freebsd/parse/route';

// Every command-output text jailnet matches, as FreeBSD prints it, with the source file that
// prints it; and texts FreeBSD does not print for that case (other tools' wording, GNU getopt's)
// that must not match.

const failed = (stderr: string, stdout = '') => new CommandError(['/sbin/tool'], 1, null, stdout, stderr, false);

describe('isJailNotFound', () => {
  test.each([
    // sbin/ifconfig/ifconfig.c, -j: Perror("jail not found") after jail_getid fails (err(3): errno text)
    ['ifconfig: jail not found: No such file or directory'],
    // sbin/ifconfig/ifconfig.c, -j: Perror("cannot attach to jail") for a JID jail_attach(2) does not find
    ['ifconfig: cannot attach to jail: Invalid argument'],
    // sbin/route/route.c, -j: errx(1, "Jail not found") / errx(1, "Cannot attach to jail")
    ['route: Jail not found'],
    ['route: Cannot attach to jail'],
    // usr.sbin/jexec/jexec.c: errx(1, "%s", jail_errmsg) (kern_jail.c's "jail \"%s\" not found")
    ['jexec: jail "web" not found'],
    // usr.sbin/jexec/jexec.c: err(1, "jail_attach(%d)", jid) for a JID
    ['jexec: jail_attach(42): Invalid argument'],
    // usr.sbin/jls/jls.c: jail_errmsg for -j with a JID (kern_jail.c "jail %d not found")
    ['jls: jail 42 not found'],
    // usr.sbin/jail: jail -r of a jail that is not running
    ['jail: "web" not found'],
    // sbin/ifconfig/ifconfig.c setifvnet: errx(1, "%s", jail_errmsg)
    ['ifconfig: jail "web" not found'],
  ])('%s', (stderr) => {
    expect(isJailNotFound(failed(stderr))).toBe(true);
  });

  test.each([
    ['ifconfig: cannot attach to jail: Operation not permitted'],
    ['ifconfig: interface eth0 does not exist'],
    ['route: writing to routing socket: No such process'],
  ])('not: %s', (stderr) => {
    expect(isJailNotFound(failed(stderr))).toBe(false);
  });
});

describe('isNoSuchInterface', () => {
  test.each([
    // sbin/ifconfig/ifconfig.c main: errx(1, "interface %s does not exist", ifname)
    ['ifconfig: interface jn0123456789abc does not exist'],
    // sbin/ifconfig/ifconfig.c Perror: ENXIO -> errx(1, "%s: no such interface", cmd)
    ['ifconfig: SIOCGIFFLAGS: no such interface'],
    // sbin/ifconfig/ifclone.c: err(1, "SIOCIFDESTROY") with ENXIO
    ['ifconfig: SIOCIFDESTROY: Device not configured'],
  ])('%s', (stderr) => {
    expect(isNoSuchInterface(failed(stderr))).toBe(true);
  });

  test.each([
    // A missing jail is not a missing interface, though its text may say "not found".
    ['ifconfig: jail not found: No such file or directory'],
    // pfctl's texts are not ifconfig's.
    ['pfctl: Table does not exist.'],
  ])('not: %s', (stderr) => {
    expect(isNoSuchInterface(failed(stderr))).toBe(false);
  });
});

describe('isUnknownFlag', () => {
  // lib/libc/stdlib/getopt.c: "%s: illegal option -- %c"
  test('FreeBSD getopt', () => {
    expect(isUnknownFlag(failed('ifconfig: illegal option -- j\nusage: ifconfig [-f type:format] ...'), 'j')).toBe(true);
    expect(isUnknownFlag(failed('route: illegal option -- j\nusage: route [-46dnqtv] command [[modifiers] args]'), 'j')).toBe(true);
  });
  test('not GNU getopt wording, nor another flag', () => {
    expect(isUnknownFlag(failed("ifconfig: invalid option -- 'j'"), 'j')).toBe(false);
    expect(isUnknownFlag(failed('ifconfig: illegal option -- x'), 'j')).toBe(false);
  });
});

describe('isPfObjectMissing', () => {
  test.each([
    // sbin/pfctl/pfctl_radix.c pfr_strerror: ESRCH
    ['pfctl: Table does not exist.'],
    // sbin/pfctl/pfctl_radix.c pfr_strerror: ENOENT
    ['pfctl: Anchor or Ruleset does not exist.'],
    // sbin/pfctl/pfctl.c (14.x) for -s/-F with -a of a missing anchor
    ['pfctl: Anchor does not exist.'],
    // sbin/pfctl/pfctl.c (13.x): warn("DIOCGETRULES") for -s rules of a missing anchor
    ['pfctl: DIOCGETRULES: Invalid argument'],
  ])('%s', (stderr) => {
    expect(isPfObjectMissing(failed(stderr))).toBe(true);
  });

  test.each([['pfctl: /dev/pf: No such file or directory'], ['ifconfig: interface x does not exist']])('not: %s', (stderr) => {
    expect(isPfObjectMissing(failed(stderr))).toBe(false);
  });
});

describe('route(8) results', () => {
  // sbin/route/route.c newroute: EEXIST -> "route already in table" (older releases: strerror, "File exists")
  test('exists', () => {
    expect(isRouteExists('add net default: gateway 10.0.0.1: route already in table')).toBe(true);
    expect(isRouteExists('add net default: gateway 10.0.0.1: File exists')).toBe(true);
    expect(isRouteExists('add net default: gateway 10.0.0.1: Network is unreachable')).toBe(false);
  });
  // route.c newroute: ESRCH -> "not in table"; 14.x route_netlink.c get: warn("route has not been
  // found"); 13.x rtsock: warn("writing to routing socket") with ESRCH ("No such process")
  test('missing', () => {
    expect(isRouteMissing('delete net default: gateway 10.0.0.1: not in table')).toBe(true);
    expect(isRouteMissing('route: route has not been found: No such process')).toBe(true);
    expect(isRouteMissing('route: writing to routing socket: No such process')).toBe(true);
    expect(isRouteMissing('add net default: gateway 10.0.0.1: route already in table')).toBe(false);
  });
});
