import { isToolMissing } from '../freebsd/errors';
import { destroyInterface, listInterfaces, showInterface } from '../freebsd/ifconfig';
import type { AttachmentId } from '../firewall/intent';
import { known } from './known';
import { HOST_END_GROUP, HOST_END_PREFIX, hostEndName, parseHostEndDescription, type HostEndDescription } from './naming';

/**
 * The host ends of epairs, found from the attachment that made them (the name is derived from
 * container ID and ifname; group and description say it is jailnet's and which network's).
 * Destroying a host end destroys both ends, wherever the jail end is, and the host routes
 * through it (epair). Used by the link plugins' GC and by jailnetd (GC, the jail check).
 */

export interface HostEnd {
  name: string;
  owner: HostEndDescription;
}

/** The network's host ends (one `ifconfig`) whose attachment is not in `valid`. */
export async function staleHostEnds(network: string, valid: readonly { containerID: string; ifname: string }[]): Promise<HostEnd[]> {
  const kept = new Set(valid.map((a) => hostEndName(a.containerID, a.ifname)));
  return (await listInterfaces().catch((err: unknown) => (isToolMissing(err) ? [] : Promise.reject(err)))).flatMap((info) => {
    if (!info.name.startsWith(HOST_END_PREFIX) || !info.groups.includes(HOST_END_GROUP) || kept.has(info.name)) return [];
    const owner = parseHostEndDescription(info.description);
    return owner?.network === network ? [{ name: info.name, owner }] : [];
  });
}

/**
 * Destroys the attachment's host end if there is one and it is jailnet's for that network
 * (an interface by that name that says otherwise is left alone). The name of what was
 * destroyed, or undefined.
 */
export async function destroyHostEndOf(id: AttachmentId): Promise<string | undefined> {
  const name = hostEndName(id.containerID, id.ifname);
  const info = await showInterface(name).catch((err: unknown) => (isToolMissing(err) ? undefined : Promise.reject(err)));
  if (!info || !info.groups.includes(HOST_END_GROUP)) return undefined;
  const owner = parseHostEndDescription(info.description);
  if (owner && (owner.network !== id.network || owner.ifname !== id.ifname)) return undefined;
  return (await destroyHostEnd(name)) ? name : undefined;
}

/**
 * `ifconfig NAME destroy` of a host end (both ends of its epair go, and the jail's routes through
 * it), after forgetting the default routes its attachment gave the jail (src/link/known.ts): a
 * later ADD of the jail asks the jail again. False when it was already gone.
 */
export async function destroyHostEnd(name: string): Promise<boolean> {
  known.forgetDefaultRoutesOf(name);
  return destroyInterface(name);
}
