import type { ValidateFunction } from 'ajv';
import { describeSchemaError, jsonPathOf } from '../src/config/validate';
import { IpamError } from '../src/ipam/errors';

/** Checks a decoded request body against its precompiled schema; a 400 naming the field otherwise. */
export function checkBody<T>(validate: ValidateFunction, body: unknown, what: string): T {
  if (validate(body)) return body as T;
  const err = validate.errors?.[0];
  if (!err) throw new IpamError('invalid-request', `${what}: the body does not match the request schema`);
  const field = err.keyword === 'required' ? `${err.instancePath ? `${jsonPathOf(err.instancePath)}.` : ''}${String((err.params as { missingProperty?: string }).missingProperty)}` : jsonPathOf(err.instancePath);
  throw new IpamError('invalid-request', `${what}: ${describeSchemaError(err, body)}`, 'see docs/ipam.md "API" for the request bodies', { field });
}
