/**
 * JSON schemas of the CNI protocol's own documents: the fields every network configuration
 * shares, and results in both shapes. Compiled to standalone validators at build time
 * (scripts/gen-validators.mjs); nothing here runs in a plugin.
 */

/** CNI network names (libcni ValidateNetworkName). Also used in pf anchor and file names. */
export const NETWORK_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$';
export const NETWORK_NAME_MAX = 48;

const stringList = { type: 'array', items: { type: 'string' } } as const;

/**
 * A path root may use: absolute, no control characters, at most PATH_MAX. Whether it is normal
 * and whether nobody else can change what it names is checked where it is used, with a message
 * naming the field (src/util/trusted-path.ts, docs/security.md).
 */
export const absolutePathSchema = { type: 'string', minLength: 2, maxLength: 1024, pattern: '^/[^\\u0000-\\u001f]*$' } as const;

export const dnsSchema = {
  type: 'object',
  properties: {
    nameservers: stringList,
    domain: { type: 'string' },
    search: stringList,
    options: stringList,
  },
} as const;

const attachmentList = {
  type: 'array',
  items: {
    type: 'object',
    required: ['containerID', 'ifname'],
    properties: { containerID: { type: 'string' }, ifname: { type: 'string' } },
  },
} as const;

/** Properties every plugin config accepts; plugin schemas spread these into their own. */
export const netConfProperties = {
  cniVersion: { type: 'string' },
  name: { type: 'string', pattern: NETWORK_NAME_PATTERN, maxLength: NETWORK_NAME_MAX },
  type: { type: 'string', minLength: 1 },
  args: {
    type: 'object',
    properties: {
      cni: { type: 'object', properties: { ips: stringList } },
    },
  },
  runtimeConfig: { type: 'object' },
  capabilities: { type: 'object', additionalProperties: { type: 'boolean' } },
  prevResult: { type: 'object' },
  ipam: { type: 'object', properties: { type: { type: 'string', minLength: 1 } } },
  dns: dnsSchema,
  'cni.dev/valid-attachments': attachmentList,
  'cni.dev/attachments': attachmentList,
  /** jailnet: log level and file of this plugin (JAILNET_LOG_LEVEL / JAILNET_LOG_FILE win). */
  logLevel: { enum: ['error', 'warn', 'info', 'debug'] },
  logFile: absolutePathSchema,
} as const;

export const netConfSchema = {
  $id: 'netconf',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: netConfProperties,
} as const;

const routeCommon = { dst: { type: 'string', minLength: 1 }, gw: { type: 'string' } } as const;

/** A result in the 1.0.0/1.1.0 shape. */
export const resultSchema = {
  $id: 'result',
  type: 'object',
  properties: {
    cniVersion: { type: 'string' },
    interfaces: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          mac: { type: 'string' },
          mtu: { type: 'integer', minimum: 0 },
          sandbox: { type: 'string' },
          socketPath: { type: 'string' },
          pciID: { type: 'string' },
        },
      },
    },
    ips: {
      type: 'array',
      items: {
        type: 'object',
        required: ['address'],
        properties: {
          address: { type: 'string', minLength: 1 },
          gateway: { type: 'string' },
          interface: { type: 'integer', minimum: 0 },
        },
      },
    },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['dst'],
        properties: {
          ...routeCommon,
          mtu: { type: 'integer', minimum: 0 },
          advmss: { type: 'integer', minimum: 0 },
          priority: { type: 'integer', minimum: 0 },
          table: { type: 'integer', minimum: 0 },
          scope: { type: 'integer', minimum: 0 },
        },
      },
    },
    dns: dnsSchema,
  },
} as const;

/** A result in the 0.3.0/0.3.1/0.4.0 shape. */
export const legacyResultSchema = {
  $id: 'legacyResult',
  type: 'object',
  properties: {
    cniVersion: { type: 'string' },
    interfaces: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1 }, mac: { type: 'string' }, sandbox: { type: 'string' } },
      },
    },
    ips: {
      type: 'array',
      items: {
        type: 'object',
        required: ['version', 'address'],
        properties: {
          version: { enum: ['4', '6'] },
          address: { type: 'string', minLength: 1 },
          gateway: { type: 'string' },
          interface: { type: 'integer', minimum: 0 },
        },
      },
    },
    routes: {
      type: 'array',
      items: { type: 'object', required: ['dst'], properties: routeCommon },
    },
    dns: dnsSchema,
  },
} as const;
