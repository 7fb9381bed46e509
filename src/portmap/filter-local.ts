import { CommandError } from '../freebsd/exec';
import { isUnknownOid } from '../freebsd/parse/sysctl';
import { setSysctl } from '../freebsd/sysctl';
import { log } from '../log/logger';

/**
 * pf translates the host's own connections (to its em0 address, say) only with
 * net.pf.filter_local=1 (releases that have it: docs/architecture.md, "Releases"). Published ports should answer the host as they answer
 * everyone else, so ADD sets it: one `sysctl` call, which also tells the old value, so the
 * host-wide change is logged (warn) the one time it happens.
 */
export const FILTER_LOCAL = 'net.pf.filter_local';

export async function ensureFilterLocal(): Promise<void> {
  try {
    const r = await setSysctl(FILTER_LOCAL, 1);
    if (r.old.trim() !== '1') log.warn(`set ${FILTER_LOCAL}=1 (was ${r.old.trim()}) so that the host reaches published ports; pf now also applies to traffic the host sends to itself`);
  } catch (err) {
    // A pf without the knob: published ports work, only not from the host itself.
    if (err instanceof CommandError && isUnknownOid(err.stderr)) {
      log.warn(`${FILTER_LOCAL} does not exist on this system (its pf predates it): the host itself does not reach published ports`);
      return;
    }
    throw err;
  }
}
