/**
 * CNI_ARGS keys the link plugins read (IP goes to the IPAM plugin, MAC to the jail end); a chain
 * shares CNI_ARGS, so the chained plugins accept the same keys.
 */
export const LINK_ARGS = ['IP', 'MAC', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID'] as const;
