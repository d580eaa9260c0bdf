// Signing nonces derived from the private key, the digest and fresh randomness ("hedged"): the
// HMAC_DRBG of RFC 6979 §3.2 with HMAC-SM3, fed x = d, h1 = e and, as §3.6 allows, additional
// data k' = 32 random bytes. With a good random source k is as random as before; with a broken
// or repeating one, k still differs for every (d, e), so two signatures never share a k and the
// key cannot be solved for; with no k' at all this is RFC 6979 exactly (checked against its
// published P-256/SHA-256 vectors, which is why the hash and the order are parameters).
import { createHmac } from 'node:crypto';
import { bigIntTo32Bytes, bytesToBigInt, concatBytes } from './bytes';
import { SM2_N } from './curve';

const ZERO = Uint8Array.of(0x00);
const ONE = Uint8Array.of(0x01);

function hmac(hash: string, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(hash, key);
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/**
 * Candidate nonces in [1, q-1] for private key 0 < x < q and digest h1 (32 bytes), in the order
 * RFC 6979 §3.2 step h produces them (the caller takes the next one when the signature scheme
 * rejects a k). For a 256-bit q and a 256-bit hash only: bits2int is then plain big-endian.
 */
export function* hedgedNonces(
  x: bigint,
  h1: Uint8Array,
  extra: Uint8Array,
  hash = 'sm3',
  q: bigint = SM2_N,
): Generator<bigint, never> {
  if (h1.length !== 32) throw new TypeError(`digest must be 32 bytes, got ${h1.length}`);
  const xOctets = bigIntTo32Bytes(x);
  const hOctets = bigIntTo32Bytes(bytesToBigInt(h1) % q); // bits2octets(h1)
  let v: Uint8Array = new Uint8Array(32).fill(0x01);
  let k: Uint8Array = new Uint8Array(32);
  k = hmac(hash, k, v, ZERO, xOctets, hOctets, extra);
  v = hmac(hash, k, v);
  k = hmac(hash, k, v, ONE, xOctets, hOctets, extra);
  v = hmac(hash, k, v);
  xOctets.fill(0);
  for (;;) {
    v = hmac(hash, k, v); // one block of T: hlen = qlen
    const candidate = bytesToBigInt(v);
    if (candidate >= 1n && candidate < q) yield candidate;
    k = hmac(hash, k, concatBytes(v, ZERO));
    v = hmac(hash, k, v);
  }
}
