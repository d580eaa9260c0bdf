import { randomBytes } from 'node:crypto';
import { assertBytes, bigIntTo32Bytes, bytesToBigInt, concatBytes } from './bytes';
import { SM2_N, invertN, modN } from './curve';
import { baseTable, multiplyFixedUniform } from './fixed-base';
import { affineX, newPoint } from './jacobian';
import { decodePublicKey, privateKeyToScalar, publicKeyFromScalar } from './keys';
import { hedgedNonces } from './nonce';
import { computeZ, userIdBytes } from './z';
import { sm3Parts } from './sm3';

/**
 * (1 + d)⁻¹ mod n for the key array a signer passes on every call. Keyed weakly by the array
 * object, so the entry goes when the array does, and checked against the d parsed now, so a key
 * array that was overwritten or zeroed is never answered from the cache.
 */
const inverses = new WeakMap<Uint8Array, { d: bigint; inverse: bigint }>();

function inverseOfOnePlus(privateKey: Uint8Array, d: bigint): bigint {
  const cached = inverses.get(privateKey);
  if (cached !== undefined && cached.d === d) return cached.inverse;
  const inverse = invertN(d + 1n);
  inverses.set(privateKey, { d, inverse });
  return inverse;
}

function checkDigest(e: Uint8Array): Uint8Array {
  assertBytes(e, 'digest');
  if (e.length !== 32) throw new TypeError(`digest e must be 32 bytes, got ${e.length}`);
  return e;
}

const kG = newPoint();

/**
 * One signing attempt with nonce k (GB/T 32918.2 §6.1 steps A4–A6).
 * Returns null when the standard says to pick another k.
 */
function signWithNonce(d: bigint, dInverse: bigint, e: bigint, k: bigint): Uint8Array | null {
  multiplyFixedUniform(kG, baseTable(), k);
  const x1 = affineX(kG) as bigint; // k < n: never infinity
  const r = modN(e + x1);
  if (r === 0n || r + k === SM2_N) return null;
  const s = modN(dInverse * (k - r * d));
  if (s === 0n) return null;
  return concatBytes(bigIntTo32Bytes(r), bigIntTo32Bytes(s));
}

/**
 * Signs digest e with nonces from d, e and `entropy` (nonce.ts), taking the next one in the rare
 * case that the standard rejects a k. Normal use passes 32 fresh random bytes; the same inputs
 * give the same signature, so tests pass fixed ones.
 */
export function signDigestHedged(privateKey: Uint8Array, e: Uint8Array, entropy: Uint8Array): Uint8Array {
  const d = privateKeyToScalar(privateKey);
  checkDigest(e);
  const dInverse = inverseOfOnePlus(privateKey, d);
  const eInt = bytesToBigInt(e);
  for (const k of hedgedNonces(d, e, entropy)) {
    const sig = signWithNonce(d, dInverse, eInt, k);
    if (sig !== null) return sig;
  }
  throw new Error('unreachable');
}

/** Signs the 32-byte digest e = SM3(Z||M); 64 bytes r||s with a hedged nonce (see nonce.ts). */
export function sm2SignDigest(privateKey: Uint8Array, e: Uint8Array): Uint8Array {
  return signDigestHedged(privateKey, e, randomBytes(32));
}

/**
 * Deterministic signing with a caller-chosen nonce k. For reproducing published test vectors
 * only: reusing or predicting k reveals the private key. RangeError if k is out of [1, n-1] or
 * the standard would reject this k.
 */
export function sm2SignDigestWithK(privateKey: Uint8Array, e: Uint8Array, k: bigint): Uint8Array {
  const d = privateKeyToScalar(privateKey);
  const eInt = bytesToBigInt(checkDigest(e));
  if (typeof k !== 'bigint') throw new TypeError('k must be a bigint');
  if (k < 1n || k >= SM2_N) throw new RangeError('k is out of range [1, n-1]');
  const sig = signWithNonce(d, inverseOfOnePlus(privateKey, d), eInt, k);
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
  return signDigestHedged(privateKey, sm3Parts([computeZ(publicKey, id), message]), randomBytes(32));
}
