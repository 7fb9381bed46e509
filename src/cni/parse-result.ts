import validateLegacyResult from '../config/generated/legacy-result';
import validateResult from '../config/generated/result';
import { validateWith } from '../config/validate';
import { CniCode } from './errors';
import { resultFromVersion } from './result';
import type { LegacyResult, Result } from './types';
import { isLegacyResultVersion } from './version';

/**
 * Reads a result (prevResult, or an IPAM plugin's output) written in `version`, checking it
 * against that version's schema, into the 1.x shape. `document` names it in errors.
 */
export function parseResultIn(raw: unknown, version: string, document: string, code: number = CniCode.DecodingFailure): Result {
  const legacy = isLegacyResultVersion(version);
  const checked = legacy
    ? validateWith<LegacyResult>(validateLegacyResult, raw, document, code)
    : validateWith<Result>(validateResult, raw, document, code);
  return resultFromVersion(checked, version);
}
