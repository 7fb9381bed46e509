import type { EmuContext } from './context';

/**
 * The contract with the emulated pf (emulator/src/pf/refresh.ts, owned by the pf work): called
 * after a net.pf.* or net.link.bridge.pfil_* sysctl changes and after the IPv4/IPv6 addresses
 * of a host interface change, so that rules using `(if)` or those sysctls are recompiled.
 */
export async function notifyPf(ctx: EmuContext): Promise<void> {
  const { refreshPf } = await import('./pf/refresh');
  await refreshPf(ctx);
}
