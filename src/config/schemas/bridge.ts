/**
 * Configuration of the `bridge` and `epair` plugins. Field names are the reference plugins'
 * JSON keys; the FreeBSD meaning of each is in docs/plugins.md.
 */
import { jailnetdFields } from './chained';
import { netConfProperties } from './cni';

const mac = { type: 'string', pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' } as const;

/** runtimeConfig capabilities the plugins read (others are tolerated). */
const runtimeConfig = {
  type: 'object',
  properties: {
    mac,
    ips: { type: 'array', items: { type: 'string' } },
    /** A list of names, or podman's map of network name to list (src/dns/names.ts checks the names). */
    aliases: { anyOf: [{ type: 'array' }, { type: 'object' }] },
  },
} as const;

const args = {
  type: 'object',
  properties: {
    cni: { type: 'object', properties: { ips: { type: 'array', items: { type: 'string' } }, mac } },
  },
} as const;

const linkCommon = {
  ...netConfProperties,
  runtimeConfig,
  args,
  mtu: { type: 'integer', minimum: 576, maximum: 16000 },
  ipMasq: { type: 'boolean' },
  /** jailnet: egress interface for ipMasq; the default route's interface when absent. */
  egressInterface: { type: 'string', minLength: 1 },
  /** jailnet: false turns jailnetd's DNS server off for this network (default on with jailnet-ipam). */
  dnsServer: { type: 'boolean' },
  /** jailnet: the jailnetd that owns ipMasq's NAT, when ipam is not jailnet-ipam (whose section says it otherwise). */
  ...jailnetdFields,
} as const;

export const bridgeConfigSchema = {
  $id: 'bridge-config',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: {
    ...linkCommon,
    bridge: { type: 'string', minLength: 1 },
    isGateway: { type: 'boolean' },
    isDefaultGateway: { type: 'boolean' },
    forceAddress: { type: 'boolean' },
    hairpinMode: { type: 'boolean' },
    promiscMode: { type: 'boolean' },
    portIsolation: { type: 'boolean' },
    vlan: { type: 'integer', minimum: 0, maximum: 4094 },
    macspoofchk: { type: 'boolean' },
  },
} as const;

export const epairConfigSchema = {
  $id: 'epair-config',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: linkCommon,
} as const;
