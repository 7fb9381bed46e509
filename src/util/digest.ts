import type * as Crypto from 'node:crypto';

/**
 * SHA-256 of a text, hex. node:crypto costs ~14 ms to load, so it is loaded on the first digest,
 * not when a plugin starts (VERSION and refused calls never need it).
 */
let crypto: typeof Crypto | undefined;

export function sha256Hex(text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  crypto ??= require('node:crypto') as typeof Crypto;
  return crypto.createHash('sha256').update(text).digest('hex');
}
