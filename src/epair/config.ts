import { CniCode, CniError } from '../cni/errors';
import validateEpairConfig from '../config/generated/epair-config';
import { validateWith } from '../config/validate';
import { checkLinkConf, type LinkConf } from '../link/config';

/** The epair plugin's configuration (the reference ptp plugin's fields). */
export type EpairConf = LinkConf;

export function loadEpairConfig(raw: Record<string, unknown>): EpairConf {
  const conf = validateWith<EpairConf>(validateEpairConfig, raw, 'network configuration');
  const out: EpairConf = { ...conf, ipMasq: conf.ipMasq === true };
  checkLinkConf(out);
  if (!out.ipam?.type) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration: the epair plugin needs addresses, but "ipam" names no plugin', 'add "ipam": {"type": "jailnet-ipam", ...}');
  }
  return out;
}
