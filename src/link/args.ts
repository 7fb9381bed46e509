/**
 * CNI_ARGS keys the link plugins read (IP goes to the IPAM plugin, MAC to the jail end); a chain
 * shares CNI_ARGS, so the chained plugins accept the same keys.
 */
export const LINK_ARGS = ['IP', 'MAC', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID', 'JailnetNewJail'] as const;

/**
 * JailnetNewJail=1: the caller vouches that the jail is as jail(2) made it, nothing having run
 * in it (runj's createRuntime hook, OCI status "creating", and the jail's first attachment):
 * its lo0 is down without an address (if_loop's vnet_loif_init) and it has no route
 * (a new vnet's tables are empty), so the ADD sets lo0 and the default route without reading
 * them first (src/jail/interface.ts). Given for a jail that is not new, it costs that jail what
 * the reads protect against: 127.0.0.1 re-set on lo0, a second default route.
 */
export function isNewJail(args: ReadonlyMap<string, string>): boolean {
  const v = args.get('JailnetNewJail')?.toLowerCase();
  return v === '1' || v === 'true';
}
