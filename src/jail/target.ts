import { CniCode, CniError } from '../cni/errors';
import { interfaceName, jailName } from '../freebsd/names';
import { jailIfnameRefusal, jailRefusal } from '../net/unusable';

/**
 * The jail named by CNI_NETNS. On FreeBSD it is a vnet jail's name or JID (what runj, nerdctl
 * and podman pass); a Linux netns path is a sign of a runtime configured for Linux.
 */
export function jailFromNetns(netns: string): string {
  if (netns.includes('/')) {
    throw new CniError(
      CniCode.InvalidEnvironment,
      `CNI_NETNS "${netns.slice(0, 100)}" is a path; on FreeBSD it must name a vnet jail (its name or JID)`,
      'jailnet attaches FreeBSD vnet jails: pass the jail name, as runj and nerdctl on FreeBSD do',
    );
  }
  let jail: string;
  try {
    jail = jailName(netns);
  } catch (err) {
    throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS: ${(err as Error).message}`, 'CNI_NETNS must be a jail name or JID');
  }
  const refused = jailRefusal(jail);
  if (refused) throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS: ${refused}`, 'CNI_NETNS must name a vnet jail (its name or JID)');
  return jail;
}

/**
 * CNI_IFNAME as a FreeBSD interface name. The CNI rule (checked by the dispatcher) allows
 * characters ifconfig would choke on; this stricter check runs before any command.
 */
export function jailIfname(ifname: string): string {
  try {
    interfaceName(ifname);
  } catch (err) {
    throw new CniError(CniCode.InvalidEnvironment, `CNI_IFNAME: ${(err as Error).message}`, 'CNI_IFNAME must be a FreeBSD interface name, such as eth0');
  }
  const refused = jailIfnameRefusal(ifname);
  if (refused) throw new CniError(CniCode.InvalidEnvironment, `CNI_IFNAME: ${refused}`, 'name the jail\'s interface otherwise, such as eth0');
  return ifname;
}
