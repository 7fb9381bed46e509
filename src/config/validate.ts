import type { ErrorObject, ValidateFunction } from 'ajv';
import { CniCode, CniError } from '../cni/errors';

/**
 * Runs a precompiled validator and turns its first error into a CniError that names the
 * document, the JSON path of the bad field and the rule it broke.
 */
export function validateWith<T>(validate: ValidateFunction, value: unknown, document: string, code: number = CniCode.InvalidNetworkConfig): T {
  if (validate(value)) return value as T;
  const err = validate.errors?.[0];
  throw new CniError(code, `${document}: ${err ? describeSchemaError(err, value) : 'does not match its schema'}`, schemaHint(err));
}

/** "/ipam/ranges/0/0/subnet" -> "ipam.ranges[0][0].subnet" ("" -> "(top level)"). */
export function jsonPathOf(instancePath: string): string {
  if (instancePath === '') return '(top level)';
  let out = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

export function describeSchemaError(err: ErrorObject, document: unknown): string {
  const path = jsonPathOf(err.instancePath);
  const got = valueAt(document, err.instancePath);
  const field = (p: string) => (p === '(top level)' ? 'the document' : `field "${p}"`);
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return `field "${path === '(top level)' ? missing : `${path}.${missing}`}" is required`;
    }
    case 'additionalProperties':
      return `${field(path)} has unknown field "${String(params.additionalProperty)}"`;
    case 'type':
      return `${field(path)} must be ${String(params.type)}, got ${describeValue(got)}`;
    case 'enum':
      return `${field(path)} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(got)}`;
    case 'const':
      return `${field(path)} must be ${JSON.stringify(params.allowedValue)}, got ${describeValue(got)}`;
    case 'pattern':
      return `${field(path)} has invalid value ${describeValue(got)} (must match ${String(params.pattern)})`;
    default:
      return `${field(path)} ${err.message ?? 'is invalid'}${got === undefined ? '' : `, got ${describeValue(got)}`}`;
  }
}

function schemaHint(err: ErrorObject | undefined): string {
  if (!err) return '';
  return `schema rule ${err.schemaPath}`;
}

function valueAt(doc: unknown, instancePath: string): unknown {
  if (instancePath === '') return doc;
  let cur: unknown = doc;
  for (const raw of instancePath.slice(1).split('/')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
