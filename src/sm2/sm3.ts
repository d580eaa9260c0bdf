import { createHash } from 'node:crypto';
import { assertBytes } from './bytes';

/** SM3 (GM/T 0004-2012) via OpenSSL inside Node; returns 32 bytes. */
export function sm3(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  // Copy out of the Buffer so callers get a plain Uint8Array of their own.
  return new Uint8Array(createHash('sm3').update(data).digest());
}

/** SM3 over the concatenation of the parts, without building the concatenation. */
export function sm3Parts(parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sm3');
  for (const p of parts) hash.update(p);
  return new Uint8Array(hash.digest());
}
