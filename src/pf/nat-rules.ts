import { interfaceName, tableName } from '../freebsd/names';
import { ipAddress } from '../freebsd/values';

/**
 * Rules of a network's NAT anchor: the addresses in <table> leave through `egress` with the
 * egress interface's first address, `(egress:0)` following it when it changes. `(egress)`
 * would round-robin over all of its addresses (aliases included) connection by connection.
 * IPv4 only; IPv6 is routed.
 *
 * With `members`, the table is defined in the same ruleset (`table <t> persist { ... }`), so
 * one `pfctl -a ANCHOR -f -` loads rule and members in one transaction. A definition with an
 * address list sets the table to exactly those addresses, an existing table's included:
 * parse.y's table_opt sets init_addr for `{ ... }` (also `{ }`), pfctl_define_table then asks
 * pfr_ina_define for PFR_FLAG_ADDRSTOO, and pfr_commit_ktable (sys/netpfil/pf/pf_table.c)
 * adds the listed addresses an active table lacks and removes the ones not listed. Without
 * `members` no table is defined and a table already there keeps its addresses.
 */
export function renderMasqueradeRules(egress: string, table: string, members?: readonly string[]): string {
  const e = interfaceName(egress);
  const t = tableName(table);
  const definition = members === undefined ? '' : `table <${t}> persist {${members.map((a) => ` ${ipAddress(a)}`).join('')} }\n`;
  return `${definition}nat on ${e} inet from <${t}> to any -> (${e}:0)\n`;
}
