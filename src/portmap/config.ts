import { CniCode, CniError } from '../cni/errors';
import type { NetConf } from '../cni/types';
import validatePortmapConfig from '../config/generated/portmap-config';
import { validateWith } from '../config/validate';
import { interfaceName, networkName } from '../freebsd/names';
import { checkField } from '../link/config';
import { log } from '../log/logger';
import { jailnetdSettings, type JailnetdSection, type JailnetdSettings } from './jailnetd';
import { parsePortMappings, type PortMapping, type RawPortMapping } from './mappings';

/**
 * The portmap plugin's configuration: the reference portmap's fields where they mean something
 * with pf, jailnet's own, and the mappings of this call (`runtimeConfig.portMappings`, checked
 * here so that a bad entry fails before any command or daemon call).
 */
export interface PortmapConf extends NetConf {
  runtimeConfig?: { portMappings?: RawPortMapping[] } & Record<string, unknown>;
  /** Hairpin NAT for neighbours on the bridge (reference `snat`). */
  snat: boolean;
  externalInterface?: string;
  bridge?: string;
  /** Set net.pf.filter_local=1 at ADD (the host reaches published ports). */
  setFilterLocal: boolean;
  /** jailnetd: where it listens and how to start it, as in jailnet-ipam's `ipam` section. */
  socket?: string;
  autostart?: boolean;
  daemon?: JailnetdSection['daemon'];
  timeout?: number;
  /** Derived: the mappings of this call, normalised. */
  mappings: PortMapping[];
  /** Derived: how to reach jailnetd. */
  jailnetd: JailnetdSettings;
}

/** Reference portmap fields that select iptables machinery; pf has no use for them. */
const IGNORED_REFERENCE_FIELDS = ['markMasqBit', 'externalSetMarkChain', 'masqAll', 'backend'] as const;

export function loadPortmapConfig(raw: Record<string, unknown>): PortmapConf {
  const conf = validateWith<PortmapConf>(validatePortmapConfig, raw, 'network configuration');
  networkName(conf.name);
  for (const f of ['conditionsV4', 'conditionsV6'] as const) {
    const v = conf[f] as string[] | undefined;
    if (v && v.length > 0) {
      throw new CniError(CniCode.UnsupportedField, `network configuration: field "${f}" is not supported by jailnet's portmap`, 'it holds iptables match conditions; pf rules are rendered by jailnet, see docs/plugins.md (hostIP restricts a mapping to one address)');
    }
  }
  const ignored = IGNORED_REFERENCE_FIELDS.filter((f) => raw[f] !== undefined);
  if (ignored.length) log.info(`ignoring ${ignored.map((f) => `"${f}"`).join(', ')}: iptables settings of the reference portmap, no meaning with pf`);
  if (conf.externalInterface !== undefined) checkField('externalInterface', () => interfaceName(conf.externalInterface));
  if (conf.bridge !== undefined) checkField('bridge', () => interfaceName(conf.bridge));
  return {
    ...conf,
    snat: conf.snat ?? true,
    setFilterLocal: conf.setFilterLocal ?? true,
    mappings: parsePortMappings(conf.runtimeConfig?.portMappings),
    jailnetd: jailnetdSettings(conf, ''),
  };
}
