import { interfaceName, tableName } from '../freebsd/names';

/**
 * Rules of a network's NAT anchor: the addresses in <table> leave through `egress` with the
 * egress interface's first address, `(egress:0)` following it when it changes. `(egress)`
 * would round-robin over all of its addresses (aliases included) connection by connection.
 * IPv4 only; IPv6 is routed.
 */
export function renderMasqueradeRules(egress: string, table: string): string {
  const e = interfaceName(egress);
  return `nat on ${e} inet from <${tableName(table)}> to any -> (${e}:0)\n`;
}
