import { randomBytes } from 'node:crypto';
import { assertBytes, bigIntTo32Bytes, bytesToBigInt, bytesToHex, concatBytes } from './bytes';
import { Point, SM2_N, isOnCurve, type Sm2Point } from './curve';

const MAX_PRIVATE_KEY = SM2_N - 2n; // 1 + d must be invertible mod n, so n - 1 is excluded

/** Raw x||y or 04||x||y → affine coordinates, or null if the bytes are no valid point. */
export function decodePublicKey(publicKey: Uint8Array): { x: bigint; y: bigint } | null {
  let offset: number;
  if (publicKey.length === 64) offset = 0;
  else if (publicKey.length === 65 && publicKey[0] === 0x04) offset = 1;
  else return null;
  const x = bytesToBigInt(publicKey.subarray(offset, offset + 32));
  const y = bytesToBigInt(publicKey.subarray(offset + 32, offset + 64));
  return isOnCurve(x, y) ? { x, y } : null;
}

export function isValidPublicKey(publicKey: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey');
  return decodePublicKey(publicKey) !== null;
}

/** → 64 bytes x||y; TypeError if the bytes are not a point on sm2p256v1. */
export function normalizePublicKey(publicKey: Uint8Array): Uint8Array {
  assertBytes(publicKey, 'publicKey');
  if (publicKey.length !== 64 && !(publicKey.length === 65 && publicKey[0] === 0x04)) {
    throw new TypeError(`public key must be 64 bytes x||y or 65 bytes 04||x||y, got ${publicKey.length} bytes`);
  }
  if (decodePublicKey(publicKey) === null) throw new TypeError('public key is not a point on the SM2 curve');
  return publicKey.length === 64 ? publicKey.slice() : publicKey.slice(1);
}

/** Private key bytes → scalar d; errors never carry the key bytes. */
export function privateKeyToScalar(privateKey: Uint8Array): bigint {
  assertBytes(privateKey, 'privateKey');
  if (privateKey.length !== 32) throw new TypeError(`private key is not 32 bytes (got ${privateKey.length})`);
  const d = bytesToBigInt(privateKey);
  if (d < 1n || d > MAX_PRIVATE_KEY) throw new RangeError('private key is out of range [1, n-2]');
  return d;
}

export function pointToPublicKey(point: Sm2Point): Uint8Array {
  const { x, y } = point.toAffine();
  return concatBytes(bigIntTo32Bytes(x), bigIntTo32Bytes(y));
}

export function publicKeyFromScalar(d: bigint): Uint8Array {
  return pointToPublicKey(Point.BASE.multiply(d));
}

export function publicKeyFromPrivateKey(privateKey: Uint8Array): Uint8Array {
  return publicKeyFromScalar(privateKeyToScalar(privateKey));
}

/** Uniform scalar in [1, max] by rejection sampling (n is close to 2^256, so retries are rare). */
export function randomScalar(max: bigint): bigint {
  for (;;) {
    const v = bytesToBigInt(randomBytes(32));
    if (v >= 1n && v <= max) return v;
  }
}

export function generatePrivateKey(): Uint8Array {
  return bigIntTo32Bytes(randomScalar(MAX_PRIVATE_KEY));
}

export function nodeIdOf(publicKey: Uint8Array): string {
  return bytesToHex(normalizePublicKey(publicKey));
}
