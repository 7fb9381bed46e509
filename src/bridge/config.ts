import { CniCode, CniError } from '../cni/errors';
import validateBridgeConfig from '../config/generated/bridge-config';
import { validateWith } from '../config/validate';
import { interfaceName } from '../freebsd/names';
import { checkField, checkLinkConf, type LinkConf } from '../link/config';
import { DEFAULT_BRIDGE } from '../link/naming';

/**
 * The bridge plugin's configuration: the reference bridge plugin's fields, with their
 * defaults, and what each means on FreeBSD (docs/plugins.md).
 */
export interface BridgeConf extends LinkConf {
  /** Name of the host bridge; created on first use. */
  bridge: string;
  /** The bridge holds the gateway address of each subnet. */
  isGateway: boolean;
  /** The jail gets a default route through the gateway (implies isGateway). */
  isDefaultGateway: boolean;
  /** Replace a different address the bridge already has in the subnet instead of failing. */
  forceAddress: boolean;
  /** Accepted: on FreeBSD, jails reach published ports of their neighbours through pf (portmap). */
  hairpinMode: boolean;
  /** Put the bridge in promiscuous mode. */
  promiscMode: boolean;
  /** Make the host end a private bridge member (if_bridge(4) `private`): members cannot talk to each other. */
  portIsolation: boolean;
}

export { DEFAULT_BRIDGE };

export function loadBridgeConfig(raw: Record<string, unknown>): BridgeConf {
  const conf = validateWith<BridgeConf>(validateBridgeConfig, raw, 'network configuration');
  if (typeof raw.vlan === 'number' && raw.vlan !== 0) {
    throw new CniError(CniCode.UnsupportedField, `network configuration: field "vlan" (${raw.vlan}) is not supported by jailnet's bridge`, 'FreeBSD if_bridge has no per-member VLAN tagging here; use a vlan(4) interface as the bridge uplink instead');
  }
  if (raw.macspoofchk === true) {
    throw new CniError(CniCode.UnsupportedField, 'network configuration: field "macspoofchk" is not supported by jailnet\'s bridge', 'remove it or set it to false');
  }
  const isDefaultGateway = conf.isDefaultGateway === true;
  const out: BridgeConf = {
    ...conf,
    bridge: conf.bridge ?? DEFAULT_BRIDGE,
    isDefaultGateway,
    isGateway: conf.isGateway === true || isDefaultGateway,
    forceAddress: conf.forceAddress === true,
    ipMasq: conf.ipMasq === true,
    hairpinMode: conf.hairpinMode === true,
    promiscMode: conf.promiscMode === true,
    portIsolation: conf.portIsolation === true,
  };
  checkField('bridge', () => interfaceName(out.bridge));
  checkLinkConf(out);
  if ((out.isGateway || out.ipMasq) && !out.ipam?.type) {
    throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: ${out.ipMasq ? 'ipMasq' : 'isGateway'} needs addresses, but "ipam" names no plugin`, 'add "ipam": {"type": "jailnet-ipam", ...} or turn the option off');
  }
  return out;
}
