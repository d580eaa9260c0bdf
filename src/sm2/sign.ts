import { assertBytes, bigIntTo32Bytes, bytesToBigInt, concatBytes } from './bytes';
import { Point, SM2_N, invertN, modN } from './curve';
import { decodePublicKey, privateKeyToScalar, publicKeyFromScalar, randomScalar } from './keys';
import { computeZ, userIdBytes } from './z';
import { sm3Parts } from './sm3';

function digestToScalar(e: Uint8Array): bigint {
  assertBytes(e, 'digest');
  if (e.length !== 32) throw new TypeError(`digest e must be 32 bytes, got ${e.length}`);
  return bytesToBigInt(e);
}

/**
 * One signing attempt with nonce k (GB/T 32918.2 §6.1 steps A4–A6).
 * Returns null when the standard says to pick another k.
 */
function signWithNonce(d: bigint, e: bigint, k: bigint): Uint8Array | null {
  const x1 = Point.BASE.multiply(k).toAffine().x;
  const r = modN(e + x1);
  if (r === 0n || r + k === SM2_N) return null;
  const s = modN(invertN(d + 1n) * (k - r * d));
  if (s === 0n) return null;
  return concatBytes(bigIntTo32Bytes(r), bigIntTo32Bytes(s));
}

/** Retries with fresh random nonces until the standard accepts one (almost always the first). */
function signRandomNonce(d: bigint, e: bigint): Uint8Array {
  for (;;) {
    const sig = signWithNonce(d, e, randomScalar(SM2_N - 1n));
    if (sig !== null) return sig;
  }
}

/** Signs the 32-byte digest e = SM3(Z||M); 64 bytes r||s with a fresh random k. */
export function sm2SignDigest(privateKey: Uint8Array, e: Uint8Array): Uint8Array {
  const d = privateKeyToScalar(privateKey);
  return signRandomNonce(d, digestToScalar(e));
}

/**
 * Deterministic signing with a caller-chosen nonce k. For reproducing published test vectors
 * only: reusing or predicting k reveals the private key. RangeError if k is out of [1, n-1] or
 * the standard would reject this k.
 */
export function sm2SignDigestWithK(privateKey: Uint8Array, e: Uint8Array, k: bigint): Uint8Array {
  const d = privateKeyToScalar(privateKey);
  const eInt = digestToScalar(e);
  if (typeof k !== 'bigint') throw new TypeError('k must be a bigint');
  if (k < 1n || k >= SM2_N) throw new RangeError('k is out of range [1, n-1]');
  const sig = signWithNonce(d, eInt, k);
  if (sig === null) throw new RangeError('this k gives r = 0, r + k = n or s = 0; choose another k');
  return sig;
}

/**
 * Signs SM3(Z||message). Deriving the public key from d costs as much as the signature itself,
 * so callers that sign repeatedly should pass opts.publicKey (64 or 65 bytes); it is checked to
 * be a curve point but not matched against d.
 */
export function sm2Sign(
  privateKey: Uint8Array,
  message: Uint8Array,
  opts: { userId?: Uint8Array | string; publicKey?: Uint8Array } = {},
): Uint8Array {
  const d = privateKeyToScalar(privateKey);
  assertBytes(message, 'message');
  const id = userIdBytes(opts.userId);
  let publicKey: Uint8Array;
  if (opts.publicKey !== undefined) {
    assertBytes(opts.publicKey, 'publicKey');
    if (decodePublicKey(opts.publicKey) === null) {
      throw new TypeError('publicKey is not a 64-byte x||y or 65-byte 04||x||y point on the SM2 curve');
    }
    publicKey = opts.publicKey;
  } else {
    publicKey = publicKeyFromScalar(d);
  }
  const e = sm3Parts([computeZ(publicKey, id), message]);
  return signRandomNonce(d, bytesToBigInt(e));
}
