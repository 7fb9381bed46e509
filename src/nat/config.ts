import type { NetConf } from '../cni/types';
import validateNatConfig from '../config/generated/nat-config';
import { validateWith } from '../config/validate';
import { interfaceName, networkName } from '../freebsd/names';
import { jailnetdSettings, type JailnetdSection, type JailnetdSettings } from '../ipam/connection';
import { checkField } from '../link/config';

/**
 * The nat plugin's configuration: the egress interface, as the bridge plugin's ipMasq takes it,
 * and where jailnetd (which owns the NAT) listens, as portmap and jailnet-ipam take it.
 */
export interface NatConf extends NetConf, JailnetdSection {
  egressInterface?: string;
  /** Derived: how to reach jailnetd. */
  jailnetd: JailnetdSettings;
}

export function loadNatConfig(raw: Record<string, unknown>): NatConf {
  const conf = validateWith<NatConf>(validateNatConfig, raw, 'network configuration');
  networkName(conf.name);
  if (conf.egressInterface !== undefined) checkField('egressInterface', () => interfaceName(conf.egressInterface));
  return { ...conf, jailnetd: jailnetdSettings(conf, '') };
}
