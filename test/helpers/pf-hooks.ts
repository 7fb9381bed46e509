import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmulatedHost } from '../harness/emulated-host';

/** The lines conf/pf.conf asks admins to put in /etc/pf.conf: jailnet's anchors in the main ruleset. */
export const JAILNET_PF_HOOKS = readFileSync(join(__dirname, '../../conf/pf.conf'), 'utf8');

/** pf as a ready host has it: the main ruleset with jailnet's hooks, enabled (`pfctl -f`, `pfctl -e`). */
export async function enablePfWithHooks(host: Pick<EmulatedHost, 'runOk'>): Promise<void> {
  await host.runOk('pfctl', ['-f', '-'], { input: JAILNET_PF_HOOKS });
  await host.runOk('pfctl', ['-e']);
}
