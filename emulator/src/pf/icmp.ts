/** ICMP and ICMPv6 type and code names, as pfctl_parser.c names them. */

export const ICMP_TYPES: Record<string, number> = {
  echoreq: 8, echorep: 0, unreach: 3, squench: 4, redir: 5, althost: 6, routeradv: 9, routersol: 10, timex: 11,
  paramprob: 12, timereq: 13, timerep: 14, inforeq: 15, inforep: 16, maskreq: 17, maskrep: 18, trace: 30,
  dataconv: 31, mobredir: 32, 'ipv6-where': 33, 'ipv6-here': 34, mobregreq: 35, mobregrep: 36, skip: 39, photuris: 40,
};

export const ICMP6_TYPES: Record<string, number> = {
  unreach: 1, toobig: 2, timex: 3, paramprob: 4, echoreq: 128, echorep: 129, groupqry: 130, listqry: 130,
  grouprep: 131, listenrep: 131, groupterm: 132, listendone: 132, routersol: 133, routeradv: 134, neighbrsol: 135,
  neighbradv: 136, redir: 137, routrrenum: 138, wrureq: 139, wrurep: 140, fqdnreq: 139, fqdnrep: 140, niqry: 139,
  nirep: 140, mtraceresp: 200, mtrace: 201,
};

const ICMP_CODES: Array<[string, number, number]> = [
  ['net-unr', 3, 0], ['host-unr', 3, 1], ['proto-unr', 3, 2], ['port-unr', 3, 3], ['needfrag', 3, 4], ['srcfail', 3, 5],
  ['net-unk', 3, 6], ['host-unk', 3, 7], ['isolate', 3, 8], ['net-prohib', 3, 9], ['host-prohib', 3, 10],
  ['net-tos', 3, 11], ['host-tos', 3, 12], ['filter-prohib', 3, 13], ['host-preced', 3, 14], ['cutoff-preced', 3, 15],
  ['redir-net', 5, 0], ['redir-host', 5, 1], ['redir-tos-net', 5, 2], ['redir-tos-host', 5, 3], ['normal-adv', 9, 0],
  ['common-adv', 9, 16], ['transit', 11, 0], ['reassemb', 11, 1], ['badhead', 12, 0], ['optmiss', 12, 1], ['badlen', 12, 2],
];

const ICMP6_CODES: Array<[string, number, number]> = [
  ['admin-unr', 1, 1], ['noroute-unr', 1, 0], ['notnbr-unr', 1, 2], ['beyond-unr', 1, 2], ['addr-unr', 1, 3],
  ['port-unr', 1, 4], ['transit', 3, 0], ['reassemb', 3, 1], ['badhead', 4, 0], ['nxthdr', 4, 1], ['redironlink', 137, 0],
  ['redirrouter', 137, 1],
];

export function icmpCodeByName(type: number, name: string, af: 4 | 6): number | undefined {
  return (af === 4 ? ICMP_CODES : ICMP6_CODES).find((c) => c[1] === type && c[0] === name)?.[2];
}

/** geticmptypebynumber: the first name of a type. */
export function icmpTypeName(type: number, af: 4 | 6): string | undefined {
  const table = af === 4 ? ICMP_TYPES : ICMP6_TYPES;
  return Object.keys(table).find((k) => table[k] === type);
}

export function icmpCodeName(type: number, code: number, af: 4 | 6): string | undefined {
  return (af === 4 ? ICMP_CODES : ICMP6_CODES).find((c) => c[1] === type && c[2] === code)?.[0];
}
