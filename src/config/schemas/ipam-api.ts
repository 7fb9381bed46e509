/**
 * Request bodies of jailnetd's HTTP API (src/ipam/api-types.ts) and the daemon's configuration
 * file. Unknown fields are refused: a misspelt field in a request to the daemon is a bug worth
 * a 400, unlike in a CNI configuration, which other tools extend.
 */
import { absolutePathSchema, NETWORK_NAME_MAX, NETWORK_NAME_PATTERN } from './cni';
import { clusterSchema } from './cluster';
import { rangesSchema } from './ipam';

const network = { type: 'string', pattern: NETWORK_NAME_PATTERN, maxLength: NETWORK_NAME_MAX } as const;
const containerID = { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', maxLength: 256 } as const;
const ifname = { type: 'string', pattern: '^[^/:\\s]{1,15}$', not: { enum: ['.', '..'] } } as const;
const jail = { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$', maxLength: 255 } as const;
const attachment = { network, containerID, ifname } as const;
const attachmentRequired = ['network', 'containerID', 'ifname'] as const;

const portEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['protocol', 'hostPort'],
  properties: {
    hostIP: { type: 'string', maxLength: 64 },
    protocol: { enum: ['tcp', 'udp', 'sctp'] },
    hostPort: { type: 'integer', minimum: 1, maximum: 65535 },
    hostPortEnd: { type: 'integer', minimum: 1, maximum: 65535 },
  },
} as const;

/** A host name of RFC 1123 labels (src/dns/names.ts says the same in words). */
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const dnsName = { type: 'string', maxLength: 253, pattern: `^${LABEL}(\\.${LABEL})*$` } as const;

export const allocateRequestSchema = {
  $id: 'ipam-allocate',
  type: 'object',
  additionalProperties: false,
  required: [...attachmentRequired, 'ranges'],
  properties: {
    ...attachment,
    jail,
    ranges: rangesSchema,
    ips: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 64 } },
    dns: {
      type: 'object',
      additionalProperties: false,
      required: ['names'],
      properties: { names: { type: 'array', maxItems: 32, items: dnsName }, domain: dnsName },
    },
    /** A cluster network's `cluster` object (docs/cluster.md): addresses come from this host's blocks. */
    cluster: clusterSchema,
    /** The network's own bridge: its addresses are no conflict with the host's. */
    bridge: { type: 'string', minLength: 1, maxLength: 15, pattern: '^[A-Za-z][A-Za-z0-9_.-]*$' },
  },
} as const;

export const attachmentRequestSchema = {
  $id: 'ipam-attachment',
  type: 'object',
  additionalProperties: false,
  required: attachmentRequired,
  properties: attachment,
} as const;

export const checkRequestSchema = {
  $id: 'ipam-check',
  type: 'object',
  additionalProperties: false,
  required: attachmentRequired,
  properties: { ...attachment, ranges: rangesSchema },
} as const;

export const gcRequestSchema = {
  $id: 'ipam-gc',
  type: 'object',
  additionalProperties: false,
  required: ['network', 'validAttachments'],
  properties: {
    network,
    validAttachments: {
      type: 'array',
      items: { type: 'object', required: ['containerID', 'ifname'], properties: { containerID: { type: 'string' }, ifname: { type: 'string' } } },
    },
  },
} as const;

export const portsReserveRequestSchema = {
  $id: 'ipam-ports-reserve',
  type: 'object',
  additionalProperties: false,
  required: [...attachmentRequired, 'ports'],
  properties: { ...attachment, jail, ports: { type: 'array', minItems: 1, maxItems: 1024, items: portEntry } },
} as const;

export const portsReleaseRequestSchema = {
  $id: 'ipam-ports-release',
  type: 'object',
  additionalProperties: false,
  required: attachmentRequired,
  properties: { ...attachment, ports: { type: 'array', maxItems: 1024, items: portEntry } },
} as const;

const ipv4 = { type: 'string', minLength: 7, maxLength: 15 } as const;
const interfaceField = { type: 'string', minLength: 1, maxLength: 15 } as const;

export const natAddRequestSchema = {
  $id: 'ipam-nat-add',
  type: 'object',
  additionalProperties: false,
  required: [...attachmentRequired, 'addresses'],
  properties: { ...attachment, jail, addresses: { type: 'array', minItems: 1, maxItems: 64, items: ipv4 }, egressInterface: interfaceField },
} as const;

export const natRemoveRequestSchema = {
  $id: 'ipam-nat-remove',
  type: 'object',
  additionalProperties: false,
  required: attachmentRequired,
  properties: { ...attachment, addresses: { type: 'array', maxItems: 64, items: ipv4 } },
} as const;

export const natCheckRequestSchema = {
  $id: 'ipam-nat-check',
  type: 'object',
  additionalProperties: false,
  required: [...attachmentRequired, 'addresses'],
  properties: { ...attachment, addresses: { type: 'array', maxItems: 64, items: ipv4 } },
} as const;

/** An attachment's ingress policy (src/firewall/intent.ts IngressRule); the daemon checks the values again. */
export const ingressRequestSchema = {
  $id: 'ipam-ingress',
  type: 'object',
  additionalProperties: false,
  required: [...attachmentRequired, 'policy', 'bridge', 'subnets'],
  properties: {
    ...attachment,
    jail,
    policy: { enum: ['same-bridge', 'isolated'] },
    bridge: { type: 'string', minLength: 1, maxLength: 15 },
    subnets: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: { type: 'object', additionalProperties: false, required: ['cidr'], properties: { cidr: { type: 'string', minLength: 1, maxLength: 64 }, gateway: { type: 'string', minLength: 1, maxLength: 64 } } },
    },
  },
} as const;

/** One published mapping (src/portmap/mappings.ts PortMapping); the daemon checks it again. */
const forwardMapping = {
  type: 'object',
  additionalProperties: false,
  required: ['protocol', 'hostPort', 'hostPortEnd', 'containerPort'],
  properties: {
    protocol: { enum: ['tcp', 'udp'] },
    hostPort: { type: 'integer', minimum: 1, maximum: 65535 },
    hostPortEnd: { type: 'integer', minimum: 1, maximum: 65535 },
    containerPort: { type: 'integer', minimum: 1, maximum: 65535 },
    hostIP: { type: 'string', minLength: 2, maxLength: 64 },
  },
} as const;

/** POST /v1/ports/publish and /v1/ports/check: an attachment's port forwards (src/firewall/intent.ts PortForward). */
export const publishRequestSchema = {
  $id: 'ipam-ports-publish',
  type: 'object',
  additionalProperties: false,
  required: [...attachmentRequired, 'mappings', 'target', 'snat', 'userlandProxy'],
  properties: {
    ...attachment,
    jail,
    mappings: { type: 'array', minItems: 1, maxItems: 1024, items: forwardMapping },
    target: {
      type: 'object',
      additionalProperties: false,
      properties: { v4: { type: 'string', maxLength: 18 }, v6: { type: 'string', maxLength: 64 }, bridge: interfaceField },
    },
    externalInterface: interfaceField,
    snat: { type: 'boolean' },
    userlandProxy: { type: 'boolean' },
  },
} as const;

/** /usr/local/etc/jailnet/jailnetd.json */
export const jailnetdConfigSchema = {
  $id: 'jailnetd-config',
  type: 'object',
  additionalProperties: false,
  properties: {
    socket: absolutePathSchema,
    stateDir: absolutePathSchema,
    logLevel: { enum: ['error', 'warn', 'info', 'debug'] },
    logFile: absolutePathSchema,
    reclaim: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** Seconds between two checks of leases against `jls`; 0 turns the check off. */
        intervalSeconds: { type: 'number', minimum: 0 },
        /** Seconds a jail must stay missing before its leases are released. */
        graceSeconds: { type: 'number', minimum: 0 },
      },
    },
    /** Take a snapshot once the journal holds this many records. */
    compactAfterRecords: { type: 'integer', minimum: 100 },
    /** The DNS server on the networks' gateways (docs/dns.md). */
    dns: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** The resolv.conf whose nameservers and search list forwarding uses. */
        resolvConf: absolutePathSchema,
        /** Queries a second each jail address may ask; 0: no limit. */
        rateLimit: { type: 'integer', minimum: 0, maximum: 1000000 },
      },
    },
    /** Compare a network's ranges with the host's addresses and routes when first seen. */
    hostCheck: { type: 'boolean' },
    /** This host's name in cluster networks (etcd keys PREFIX/NETWORK/hosts/NAME). */
    hostName: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' },
  },
} as const;
