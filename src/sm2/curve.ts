import { Field } from '@noble/curves/abstract/modular';
import { weierstrassN, type WeierstrassPoint } from '@noble/curves/abstract/weierstrass';

// sm2p256v1, the recommended curve of GM/T 0003.5-2012 (GB/T 32918.5-2017).
export const SM2_P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
export const SM2_A = 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn;
export const SM2_B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
export const SM2_N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
export const SM2_GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
export const SM2_GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;

export type Sm2Point = WeierstrassPoint<bigint>;

export const Point = weierstrassN(
  { p: SM2_P, n: SM2_N, h: 1n, a: SM2_A, b: SM2_B, Gx: SM2_GX, Gy: SM2_GY },
  { Fp: Field(SM2_P), Fn: Field(SM2_N) },
);

// Fixed-base multiplication by G uses a table built on first use (lazy, so importing stays cheap).
// noble's table serves key derivation; fixed-base.ts's baseTable() serves sign and verify.
export const BASE_WINDOW = 8;
Point.BASE.precompute(BASE_WINDOW, true);

export function modN(x: bigint): bigint {
  const r = x % SM2_N;
  return r < 0n ? r + SM2_N : r;
}

/**
 * a⁻¹ mod m for 0 < a < m and m prime, by the extended Euclidean algorithm. Tracks only the one
 * Bézout coefficient it needs, which makes it about 1.7× faster than noble's `invert`; the
 * inversions are a third of a signature's time. Variable-time, like all BigInt arithmetic.
 */
export function invertMod(a: bigint, m: bigint): bigint {
  let b = m;
  let x = 1n;
  let u = 0n;
  while (b !== 0n) {
    const q = a / b;
    const r = a - q * b;
    a = b;
    b = r;
    const t = x - q * u;
    x = u;
    u = t;
  }
  if (a !== 1n) throw new RangeError('value has no inverse');
  return x < 0n ? x + m : x;
}

export function invertN(x: bigint): bigint {
  return invertMod(modN(x), SM2_N);
}

/** (x, y) on the curve, not the point at infinity. Coordinates must already be < p. */
export function isOnCurve(x: bigint, y: bigint): boolean {
  if (x >= SM2_P || y >= SM2_P) return false;
  const x2 = (x * x) % SM2_P;
  const rhs = (((x2 + SM2_A) % SM2_P) * x + SM2_B) % SM2_P;
  return (y * y) % SM2_P === rhs;
}
