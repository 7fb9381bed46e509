import type { LinuxLink } from './netns';
import { vxlanDefaults, type VxlanConfig } from './ifconfig/vxlan';

/**
 * FreeBSD interface metadata that Linux does not have (cloner kind and unit, home vnet,
 * groups, description, nd6 IFDISABLED) travels with the interface in its Linux ifalias, which
 * survives renames and namespace moves and disappears with the interface:
 *
 *   jn1;k=epair;u=3;s=a;h=0;n=1;r=1;g=epair,jailnet;d=some%20text
 *
 * A vxlan interface adds its vxlan(4) configuration, the values that differ from the defaults
 * (ifconfig/vxlan.ts): v=VNI, la/ra local and remote (or group) address, lp/rp ports,
 * pr=MIN-MAX, t=TTL, nl=1 (-vxlanlearn), md=vxlandev, to/mx ftable timeout and size, um=1 (MTU
 * set by hand).
 *
 * Values are percent-encoded so that the alias can be written through `ip -batch`.
 */

export type IfKind = 'epair' | 'bridge' | 'vxlan' | 'lo' | 'ether';

export interface IfMeta {
  kind: IfKind;
  /** Cloner unit (epair, bridge, vxlan). */
  unit?: number;
  /** Epair side. */
  side?: 'a' | 'b';
  /** JID of the vnet the interface was created in (0: the host). */
  home: number;
  /** ND6_IFF_IFDISABLED. */
  ifdisabled: boolean;
  /** ND6_IFF_ACCEPT_RTADV (`ifconfig IF inet6 accept_rtadv`): the interface takes router advertisements. */
  acceptRtadv?: boolean;
  groups: string[];
  description?: string;
  /** vxlan(4) configuration (kind vxlan). */
  vxlan?: VxlanConfig;
}

const PREFIX = 'jn1;';
/** Linux IFALIASZ is 256 with the NUL. */
export const ALIAS_MAX = 255;

function enc(s: string): string {
  return s.replace(/[^A-Za-z0-9_.:/@+=-]/g, (c) =>
    Array.from(Buffer.from(c, 'utf8'))
      .map((b) => `%${b.toString(16).padStart(2, '0')}`)
      .join(''),
  );
}

function dec(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function encodeMeta(m: IfMeta): string {
  const parts = [`k=${m.kind}`];
  if (m.unit !== undefined) parts.push(`u=${m.unit}`);
  if (m.side) parts.push(`s=${m.side}`);
  parts.push(`h=${m.home}`, `n=${m.ifdisabled ? 1 : 0}`);
  if (m.acceptRtadv) parts.push('r=1');
  if (m.groups.length) parts.push(`g=${m.groups.map(enc).join(',')}`);
  if (m.description) parts.push(`d=${enc(m.description)}`);
  if (m.vxlan) parts.push(...vxlanParts(m.vxlan));
  return PREFIX + parts.join(';');
}

/** The metadata of a link: from its alias, or defaults from its Linux kind. */
export function metaOf(link: LinuxLink): IfMeta {
  const alias = link.ifalias ?? '';
  if (alias.startsWith(PREFIX)) {
    const m: IfMeta = { kind: 'ether', home: 0, ifdisabled: false, groups: [] };
    for (const part of alias.slice(PREFIX.length).split(';')) {
      const eq = part.indexOf('=');
      const k = part.slice(0, eq);
      const v = part.slice(eq + 1);
      if (k === 'k') m.kind = v as IfKind;
      else if (k === 'u') m.unit = Number(v);
      else if (k === 's') m.side = v === 'b' ? 'b' : 'a';
      else if (k === 'h') m.home = Number(v);
      else if (k === 'n') m.ifdisabled = v === '1';
      else if (k === 'r') m.acceptRtadv = v === '1';
      else if (k === 'g') m.groups = v.split(',').filter(Boolean).map(dec);
      else if (k === 'd') m.description = dec(v);
      else if (VXLAN_KEYS.has(k)) readVxlanPart((m.vxlan ??= vxlanDefaults()), k, v);
    }
    if (m.kind === 'vxlan') m.vxlan ??= vxlanDefaults();
    return m;
  }
  const kind = link.linkinfo?.info_kind;
  if (link.ifname === 'lo') return { kind: 'lo', home: 0, ifdisabled: false, groups: ['lo'] };
  if (kind === 'bridge') return { kind: 'bridge', home: 0, ifdisabled: true, groups: ['bridge'] };
  return { kind: 'ether', home: 0, ifdisabled: false, groups: [], ...(alias ? { description: alias } : {}) };
}

/** The `ip -batch` line that stores `m` on `ifname`. */
export function setMetaLine(ifname: string, m: IfMeta): string {
  return `link set dev ${ifname} alias "${encodeMeta(m)}"`;
}

const VXLAN_KEYS = new Set(['v', 'la', 'ra', 'lp', 'rp', 'pr', 't', 'nl', 'md', 'to', 'mx', 'um']);

function vxlanParts(c: VxlanConfig): string[] {
  const d = vxlanDefaults();
  const parts: string[] = [];
  if (c.vni !== undefined) parts.push(`v=${c.vni}`);
  if (c.local !== undefined) parts.push(`la=${c.local}`);
  if (c.remote !== undefined) parts.push(`ra=${c.remote}`);
  if (c.localPort !== d.localPort) parts.push(`lp=${c.localPort}`);
  if (c.remotePort !== d.remotePort) parts.push(`rp=${c.remotePort}`);
  if (c.portMin !== d.portMin || c.portMax !== d.portMax) parts.push(`pr=${c.portMin}-${c.portMax}`);
  if (c.ttl !== d.ttl) parts.push(`t=${c.ttl}`);
  if (!c.learn) parts.push('nl=1');
  if (c.dev !== undefined) parts.push(`md=${enc(c.dev)}`);
  if (c.timeout !== d.timeout) parts.push(`to=${c.timeout}`);
  if (c.maxaddr !== d.maxaddr) parts.push(`mx=${c.maxaddr}`);
  if (c.userMtu) parts.push('um=1');
  return parts;
}

function readVxlanPart(c: VxlanConfig, k: string, v: string): void {
  if (k === 'v') c.vni = Number(v);
  else if (k === 'la') c.local = v;
  else if (k === 'ra') c.remote = v;
  else if (k === 'lp') c.localPort = Number(v);
  else if (k === 'rp') c.remotePort = Number(v);
  else if (k === 'pr') [c.portMin, c.portMax] = v.split('-').map(Number) as [number, number];
  else if (k === 't') c.ttl = Number(v);
  else if (k === 'nl') c.learn = v !== '1';
  else if (k === 'md') c.dev = dec(v);
  else if (k === 'to') c.timeout = Number(v);
  else if (k === 'mx') c.maxaddr = Number(v);
  else if (k === 'um') c.userMtu = v === '1';
}
