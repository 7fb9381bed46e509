/**
 * Every schema that is compiled to a standalone validator, by output module name.
 * scripts/gen-validators.mjs writes src/config/generated/<name>.js for each entry, so a
 * plugin bundles only the validators it imports.
 */
import { bridgeConfigSchema, epairConfigSchema } from './bridge';
import { natConfigSchema, portmapConfigSchema } from './chained';
import { legacyResultSchema, netConfSchema, resultSchema } from './cni';
import { conflistSchema } from './conflist';
import { firewallConfigSchema, loopbackConfigSchema, tuningConfigSchema } from './dropin';
import { ipamConfigSchema, ipamSectionSchema } from './ipam';
import { allocateRequestSchema, attachmentRequestSchema, checkRequestSchema, gcRequestSchema, jailnetdConfigSchema, natAddRequestSchema, natCheckRequestSchema, natRemoveRequestSchema, ingressRequestSchema, portsReleaseRequestSchema, portsReserveRequestSchema, publishRequestSchema } from './ipam-api';

export const schemas: Record<string, object> = {
  netconf: netConfSchema,
  result: resultSchema,
  'legacy-result': legacyResultSchema,
  conflist: conflistSchema,
  'bridge-config': bridgeConfigSchema,
  'epair-config': epairConfigSchema,
  'ipam-config': ipamConfigSchema,
  'ipam-section': ipamSectionSchema,
  'ipam-allocate': allocateRequestSchema,
  'ipam-attachment': attachmentRequestSchema,
  'ipam-check': checkRequestSchema,
  'ipam-gc': gcRequestSchema,
  'ipam-ports-reserve': portsReserveRequestSchema,
  'ipam-ports-release': portsReleaseRequestSchema,
  'ipam-ports-publish': publishRequestSchema,
  'ipam-nat-add': natAddRequestSchema,
  'ipam-nat-remove': natRemoveRequestSchema,
  'ipam-nat-check': natCheckRequestSchema,
  'ipam-ingress': ingressRequestSchema,
  'jailnetd-config': jailnetdConfigSchema,
  'portmap-config': portmapConfigSchema,
  'nat-config': natConfigSchema,
  'loopback-config': loopbackConfigSchema,
  'firewall-config': firewallConfigSchema,
  'tuning-config': tuningConfigSchema,
};
