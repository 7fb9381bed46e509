/**
 * The `cluster` object of a cluster network's `ipam` section (docs/cluster.md): where its etcd
 * is, the key prefix, the VNI and MTU of its vxlan(4) overlay, the host's underlay and the size
 * of the address blocks hosts claim. The shape is checked here; src/cluster/config.ts checks the
 * values (URLs, CIDR arithmetic) and names the field.
 */
import { absolutePathSchema } from './cni';

export const clusterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['endpoints', 'vni'],
  properties: {
    /** etcd client URLs, http:// or https://, with address and port. */
    endpoints: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 200 } },
    /** Client TLS: the CA that signed the members' certificates, this host's certificate and key. */
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['ca'],
      properties: { ca: absolutePathSchema, cert: absolutePathSchema, key: absolutePathSchema },
    },
    /** Key prefix in etcd (default /jailnet). */
    prefix: { type: 'string', minLength: 2, maxLength: 100, pattern: '^(/[A-Za-z0-9_.-]+)+$' },
    /** The network's VXLAN network identifier, the same on every host. */
    vni: { type: 'integer', minimum: 1, maximum: 16777215 },
    /** The MTU of the bridge's members (jails' epairs and the vxlan interfaces). */
    mtu: { type: 'integer', minimum: 576, maximum: 9000 },
    /** This host's underlay: an IPv4 address or an interface (default: the default route's). */
    underlay: { type: 'string', minLength: 1, maxLength: 64 },
    /** Prefix length of the address blocks a host claims (default 26). */
    blockPrefix: { type: 'integer', minimum: 8, maximum: 30 },
    /** Seconds of the host's membership lease (default 10). */
    leaseTtl: { type: 'integer', minimum: 2, maximum: 300 },
    /** Seconds a dead host's blocks stay its own after its membership expired (default 30). */
    reclaimGrace: { type: 'integer', minimum: 0, maximum: 86400 },
    /** First UDP port of the per-peer vxlan sockets (default 4789; a host uses port + peer index). */
    port: { type: 'integer', minimum: 1024, maximum: 65000 },
  },
} as const;
