import { bytesToBigInt, plainBytes } from './bytes';
import { combMultiply } from './comb';
import { SM2_N, SM2_P, modN } from './curve';
import { addFixedMultiple, baseTable } from './fixed-base';
import { hasAffineX, newPoint } from './jacobian';
import { decodeKeyPoint, type KeyPoint } from './key-point';
import { tableForKey } from './key-table-cache';
import { multiplyAffine } from './wnaf';
import { computeZ, userIdBytes } from './z';
import { sm3Parts } from './sm3';

const sum = newPoint();

/** GB/T 32918.2 §7.1 steps B5–B7 for a decoded key and a 64-byte signature. */
function verifyCore(key: KeyPoint, e: bigint, signature: Uint8Array): boolean {
  const r = bytesToBigInt(signature.subarray(0, 32));
  const s = bytesToBigInt(signature.subarray(32, 64));
  if (r < 1n || r >= SM2_N || s < 1n || s >= SM2_N) return false;
  const t = modN(r + s);
  if (t === 0n) return false;
  // Public inputs only, so variable-time is fine: t·P from the key's comb table when it has one,
  // else by the wNAF; s·G from the base table.
  const keyTable = tableForKey(key);
  if (keyTable) combMultiply(sum, keyTable, t);
  else multiplyAffine(sum, key.x, key.y, t);
  addFixedMultiple(sum, baseTable(), s);
  // (e + x1) mod n = r with x1 < p: x1 is (r - e) mod n, or that plus n when it stays below p.
  // Checking X = x1·Z² for both needs no inversion.
  const x1 = modN(r - e);
  return hasAffineX(sum, x1) || (x1 + SM2_N < SM2_P && hasAffineX(sum, x1 + SM2_N));
}

/** Verifies r||s over the 32-byte digest e. False for any malformed key, digest or signature. */
export function sm2VerifyDigest(publicKey: Uint8Array, e: Uint8Array, signature: Uint8Array): boolean {
  // Plain views first: a Uint8Array subclass's overrides must not reach the arithmetic.
  publicKey = plainBytes(publicKey, 'publicKey');
  e = plainBytes(e, 'digest');
  signature = plainBytes(signature, 'signature');
  if (e.length !== 32 || signature.length !== 64) return false;
  const key = decodeKeyPoint(publicKey);
  if (key === null) return false;
  return verifyCore(key, bytesToBigInt(e), signature);
}

/** Verifies r||s over SM3(Z||message). False for any bad signature or public key. */
export function sm2Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  opts: { userId?: Uint8Array | string } = {},
): boolean {
  publicKey = plainBytes(publicKey, 'publicKey');
  message = plainBytes(message, 'message');
  signature = plainBytes(signature, 'signature');
  const id = userIdBytes(opts.userId);
  // An ID too long for ENTL cannot have produced any signature.
  if (id.length * 8 > 0xffff || signature.length !== 64) return false;
  const key = decodeKeyPoint(publicKey);
  if (key === null) return false;
  const e = sm3Parts([computeZ(publicKey, id), message]);
  return verifyCore(key, bytesToBigInt(e), signature);
}
