/** Parsers of sysctl(8) output. */

/** `sysctl name=value` prints "name: old -> new". */
export function parseSysctlSet(output: string): { name: string; old: string; new: string } {
  const m = /^([A-Za-z0-9_.]+): (.*) -> (.*)$/m.exec(output.trim());
  if (!m) throw new Error(`unexpected sysctl output "${output.trim()}"`);
  return { name: m[1] as string, old: m[2] as string, new: m[3] as string };
}

/** `sysctl -n name`: the value alone. */
export function parseSysctlValue(output: string): string {
  return output.trim();
}

/** `sysctl a b c` prints "name: value" per OID: name -> value. */
export function parseSysctlValues(output: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /^([A-Za-z0-9_.]+): (.*)$/.exec(line);
    if (m) out.set(m[1] as string, m[2] as string);
  }
  return out;
}

/**
 * True when sysctl(8) failed because the kernel has no such OID: sbin/sysctl/sysctl.c parse()
 * prints `sysctl: unknown oid 'NAME'` (a kernel without VIMAGE, a pf without net.pf.filter_local).
 */
export function isUnknownOid(stderr: string): boolean {
  return /: unknown oid '/.test(stderr);
}
