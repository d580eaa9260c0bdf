import { bytesToBigInt, plainBytes } from './bytes';
import { SM2_N, modN } from './curve';
import { addFixedMultiple, affineX, baseTable, multiplyAffine, type Jacobian } from './jacobian';
import { tableForKey } from './key-table-cache';
import { decodePublicKey } from './keys';
import { computeZ, userIdBytes } from './z';
import { sm3Parts } from './sm3';

/** GB/T 32918.2 §7.1 steps B5–B7 for a decoded key and a 64-byte signature. */
function verifyCore(point: { x: bigint; y: bigint }, e: bigint, signature: Uint8Array): boolean {
  const r = bytesToBigInt(signature.subarray(0, 32));
  const s = bytesToBigInt(signature.subarray(32, 64));
  if (r < 1n || r >= SM2_N || s < 1n || s >= SM2_N) return false;
  const t = modN(r + s);
  if (t === 0n) return false;
  // Public inputs only, so variable-time is fine: s·G from the base table, t·P from the key's
  // cached table when it has one, else by the wNAF; one inversion for the sum.
  const keyTable = tableForKey(point.x, point.y);
  const tP: Jacobian = keyTable ? addFixedMultiple([0n, 1n, 0n], keyTable, t) : multiplyAffine(point.x, point.y, t);
  const x1 = affineX(addFixedMultiple(tP, baseTable(), s));
  if (x1 === null) return false;
  return modN(e + x1) === r;
}

/** Verifies r||s over the 32-byte digest e. False for any malformed key, digest or signature. */
export function sm2VerifyDigest(publicKey: Uint8Array, e: Uint8Array, signature: Uint8Array): boolean {
  // Plain views first: a Uint8Array subclass's overrides must not reach the arithmetic.
  publicKey = plainBytes(publicKey, 'publicKey');
  e = plainBytes(e, 'digest');
  signature = plainBytes(signature, 'signature');
  if (e.length !== 32 || signature.length !== 64) return false;
  const point = decodePublicKey(publicKey);
  if (point === null) return false;
  return verifyCore(point, bytesToBigInt(e), signature);
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
  const point = decodePublicKey(publicKey);
  if (point === null) return false;
  const e = sm3Parts([computeZ(publicKey, id), message]);
  return verifyCore(point, bytesToBigInt(e), signature);
}
