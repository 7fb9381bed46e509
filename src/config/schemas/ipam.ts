/**
 * Configuration of the `jailnet-ipam` and `host-local` plugins: host-local's fields (`ranges`, or
 * the older single-range `subnet`/`rangeStart`/`rangeEnd`/`gateway`; `routes`, `resolvConf`,
 * `dataDir`), `dns` for the result, and where to find or how to start jailnetd. The daemon checks the ranges themselves
 * (addresses, overlaps) and names the bad field; this schema checks the shape.
 */
import { absolutePathSchema as absolutePath, dnsSchema, netConfProperties } from './cni';
import { clusterSchema } from './cluster';

const stringList = { type: 'array', items: { type: 'string' } } as const;

export const rangeSchema = {
  type: 'object',
  required: ['subnet'],
  properties: {
    subnet: { type: 'string', minLength: 1 },
    rangeStart: { type: 'string' },
    rangeEnd: { type: 'string' },
    gateway: { type: 'string' },
  },
} as const;

export const rangesSchema = {
  type: 'array',
  minItems: 1,
  items: { type: 'array', minItems: 1, items: rangeSchema },
} as const;

const routeSchema = {
  type: 'object',
  required: ['dst'],
  properties: { dst: { type: 'string', minLength: 1 }, gw: { type: 'string' } },
} as const;

export const ipamFieldsSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', minLength: 1 },
    ranges: rangesSchema,
    /** host-local's older form: one range, written at the top of the ipam object. */
    subnet: { type: 'string', minLength: 1 },
    rangeStart: { type: 'string' },
    rangeEnd: { type: 'string' },
    gateway: { type: 'string' },
    routes: { type: 'array', items: routeSchema },
    /** host-local: a resolv.conf(5) whose nameserver, domain, search and options lines become the result's dns. */
    resolvConf: { type: 'string', minLength: 1 },
    /** host-local: where the reference plugin keeps its leases; jailnetd keeps them in its state directory, so this is accepted and unused. */
    dataDir: { type: 'string' },
    /** jailnet: dns for the result (merged over resolvConf's). */
    dns: dnsSchema,
    /** jailnet: jailnetd's socket. */
    socket: absolutePath,
    /** jailnet: start jailnetd when its socket does not answer (default true). */
    autostart: { type: 'boolean' },
    /** jailnet: how to start jailnetd. */
    daemon: {
      type: 'object',
      properties: {
        path: absolutePath,
        config: absolutePath,
        stateDir: absolutePath,
        logFile: absolutePath,
      },
    },
    /** jailnet: seconds to wait for an answer from jailnetd (default 30). */
    timeout: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
    /** jailnet: a network across hosts (docs/cluster.md). */
    cluster: clusterSchema,
  },
} as const;

export const ipamConfigSchema = {
  $id: 'ipam-config',
  type: 'object',
  required: ['cniVersion', 'name', 'ipam'],
  properties: {
    ...netConfProperties,
    runtimeConfig: { type: 'object', properties: { ips: stringList } },
    ipam: ipamFieldsSchema,
  },
} as const;

/**
 * The `ipam` section alone, as `bridge` and `epair` check it when they run jailnet-ipam's
 * commands in process (the rest of their configuration has their own schema): a much smaller
 * validator than the whole plugin configuration's, bundled into every start of theirs.
 */
export const ipamSectionSchema = {
  $id: 'ipam-section',
  type: 'object',
  required: ['ipam'],
  properties: { ipam: ipamFieldsSchema },
} as const;
