import { interfaceName, tableName } from '../freebsd/names';

/**
 * Rules of a network's NAT anchor: the addresses in <table> leave through `egress` with the
 * egress interface's address, `(egress)` following it when it changes. IPv4 only; IPv6 is routed.
 */
export function renderMasqueradeRules(egress: string, table: string): string {
  const e = interfaceName(egress);
  return `nat on ${e} inet from <${tableName(table)}> to any -> (${e})\n`;
}
