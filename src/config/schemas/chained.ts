/**
 * Configuration of the chained plugins `nat` and `portmap` (docs/plugins.md). Field names are
 * the reference plugins' where one exists (`snat`, `capabilities`, `conditionsV4`...), jailnet's
 * otherwise. Unknown fields are tolerated, as CNI requires.
 */
import { netConfProperties } from './cni';
import { ipamFieldsSchema } from './ipam';

const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;

/** One entry of the `portMappings` capability, plus jailnet's `hostPortEnd` for a range. */
const portMapping = {
  type: 'object',
  required: ['hostPort', 'containerPort', 'protocol'],
  properties: {
    hostPort: port,
    containerPort: port,
    protocol: { type: 'string', minLength: 1, maxLength: 16 },
    hostIP: { type: 'string', maxLength: 64 },
    hostPortEnd: port,
  },
} as const;

/** Where jailnetd listens and how to start it: the fields of jailnet-ipam's `ipam` section, same names. */
export const jailnetdFields = {
  socket: ipamFieldsSchema.properties.socket,
  autostart: ipamFieldsSchema.properties.autostart,
  daemon: ipamFieldsSchema.properties.daemon,
  timeout: ipamFieldsSchema.properties.timeout,
} as const;

export const portmapConfigSchema = {
  $id: 'portmap-config',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: {
    ...netConfProperties,
    runtimeConfig: {
      type: 'object',
      properties: { portMappings: { type: 'array', maxItems: 1024, items: portMapping } },
    },
    /** Reference: hairpin SNAT (here: neighbours on the bridge through the host address). Default true. */
    snat: { type: 'boolean' },
    /** Reference (iptables match conditions): refused when not empty. */
    conditionsV4: stringList,
    conditionsV6: stringList,
    /** jailnet: the interface whose addresses publish ports without hostIP; the default route's when absent. */
    externalInterface: { type: 'string', minLength: 1 },
    /** jailnet: the bridge of the jail's network; prevResult's first host interface when absent. */
    bridge: { type: 'string', minLength: 1 },
    /** jailnet: jailnetd listens on each published port for connections from the host itself. Default true. */
    userlandProxy: { type: 'boolean' },
    /** jailnet: the daemon that publishes the ports (socket, autostart, daemon, timeout). */
    ...jailnetdFields,
  },
} as const;

export const natConfigSchema = {
  $id: 'nat-config',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: {
    ...netConfProperties,
    /** The interface translated to; the IPv4 default route's when absent (as bridge's ipMasq). */
    egressInterface: { type: 'string', minLength: 1 },
    /** jailnet: the daemon that owns the NAT (socket, autostart, daemon, timeout). */
    ...jailnetdFields,
  },
} as const;
