/** FreeBSD <-> Linux interface names: the loopback is lo0 on FreeBSD and lo on Linux. */
export function toLinux(name: string): string {
  return name === 'lo0' ? 'lo' : name;
}

export function toFreeBSD(name: string): string {
  return name === 'lo' ? 'lo0' : name;
}

/** IFNAMSIZ - 1. */
export const IFNAME_MAX = 15;
