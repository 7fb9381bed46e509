import { CniCode, CniError } from '../cni/errors';
import { checkTrustedPath, UntrustedPathError, type PathUse } from '../util/trusted-path';

/**
 * A path a network file names, checked before it is used (docs/security.md, "What each field
 * may point at"): code 7 naming the field. A file to read that does not exist gives false, so
 * that the caller fails its own way (code 5 for resolvConf, as the reference plugin).
 */
export function requireTrustedField(path: string, use: PathUse, field: string): boolean {
  try {
    checkTrustedPath(path, use);
    return true;
  } catch (err) {
    if (!(err instanceof UntrustedPathError)) throw err;
    if (err.missing) return false;
    throw new CniError(CniCode.InvalidNetworkConfig, `network configuration: field "${field}": ${err.message}`, 'jailnet runs as root and uses only paths that nobody but root can change: see docs/security.md');
  }
}
