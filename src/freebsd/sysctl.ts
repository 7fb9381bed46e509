import { parseSysctlSet, parseSysctlValue, parseSysctlValues } from './parse/sysctl';
import { runInJail } from './jail-exec';
import { runTool } from './tools';

/** sysctl(8) reads and writes of the knobs jailnet uses. */

const NAME = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;

function sysctlName(name: string): string {
  if (!NAME.test(name) || name.length > 128) throw new Error(`invalid sysctl name "${name}"`);
  return name;
}

/** On the host, or in a vnet jail (its own values of the per-vnet knobs). */
const sysctl = (args: string[], jail?: string) => (jail === undefined ? runTool('sysctl', args) : runInJail('sysctl', jail, args));

export async function getSysctl(name: string, jail?: string): Promise<string> {
  const r = await sysctl(['-n', sysctlName(name)], jail);
  return parseSysctlValue(r.stdout);
}

/** Several values in one call: name -> value. */
export async function getSysctls(names: readonly string[]): Promise<Map<string, string>> {
  const r = await runTool('sysctl', names.map(sysctlName));
  return parseSysctlValues(r.stdout);
}

/** Sets a value; returns the old and new values as sysctl printed them. */
export async function setSysctl(name: string, value: string | number, jail?: string): Promise<{ old: string; new: string }> {
  const v = String(value);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new Error(`invalid value "${v}" for sysctl ${name}`);
  const r = await sysctl([`${sysctlName(name)}=${v}`], jail);
  const parsed = parseSysctlSet(r.stdout);
  return { old: parsed.old, new: parsed.new };
}
