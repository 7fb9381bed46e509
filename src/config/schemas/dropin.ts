/**
 * Configuration of the drop-in plugins that let the network files of nerdctl, containerd and
 * podman run unchanged: `loopback`, `firewall` and `tuning` (docs/plugins.md). Field names are
 * the reference plugins'; unknown fields are tolerated, as CNI requires, and the ones that mean
 * nothing for a jail are logged and ignored by the plugin.
 */
import { jailnetdFields } from './chained';
import { netConfProperties } from './cni';

export const loopbackConfigSchema = {
  $id: 'loopback-config',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: { ...netConfProperties },
} as const;

export const INGRESS_POLICIES = ['open', 'same-bridge', 'isolated'] as const;

export const firewallConfigSchema = {
  $id: 'firewall-config',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: {
    ...netConfProperties,
    /** Reference: iptables or firewalld; jailnet always uses pf. */
    backend: { type: 'string' },
    /** Reference: who may open connections to the network's jails. */
    ingressPolicy: { enum: ['', ...INGRESS_POLICIES] },
    /** Reference (iptables, firewalld): ignored. */
    iptablesAdminChainName: { type: 'string' },
    firewalldZone: { type: 'string' },
    /** jailnet: the daemon that loads the rules (socket, autostart, daemon, timeout). */
    ...jailnetdFields,
  },
} as const;

export const tuningConfigSchema = {
  $id: 'tuning-config',
  type: 'object',
  required: ['cniVersion', 'name', 'type'],
  properties: {
    ...netConfProperties,
    runtimeConfig: { type: 'object', properties: { mac: { type: 'string' } } },
    /** Reference: per-vnet sysctls, name -> value (Linux names mapped where FreeBSD has the same knob). */
    sysctl: { type: 'object', additionalProperties: { type: 'string', maxLength: 256 }, maxProperties: 256 },
    mac: { type: 'string' },
    mtu: { type: 'integer', minimum: 0 },
    promisc: { type: 'boolean' },
    allmulti: { type: 'boolean' },
    /** Reference: Linux's transmit queue length; no FreeBSD equivalent, ignored. */
    txQLen: { type: 'integer' },
    /** Reference: where ADD keeps what DEL restores. */
    dataDir: { type: 'string', minLength: 1 },
  },
} as const;
