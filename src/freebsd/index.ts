/** The host layer: every FreeBSD operation jailnet performs, and nothing else runs a process. */
export * from './exec';
export * from './tools';
export * from './names';
export * from './values';
export * from './errors';
export * from './ifconfig';
export * from './jail';
export * from './route';
export * from './netstat';
export * from './sysctl';
export * from './pfctl';
export type { InterfaceInfo, InetAddress, Inet6Address, BridgeMember } from './parse/ifconfig';
export type { JailInfo, VnetMode } from './parse/jls';
export type { RouteGet } from './parse/route';
export type { RouteEntry } from './parse/netstat';
