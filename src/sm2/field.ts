// Arithmetic modulo the SM2 prime p without BigInt: 11 signed limbs of 24 bits in a Float64Array,
// in Montgomery form (x is held as x·2^264 mod p). BigInt's multiply-and-% costs 0.4–0.8 µs and
// allocates; the unrolled limb product of field-mul.ts costs about a tenth of a µs and does not.
//
// An element a stands for the integer Σ a[i]·2^(24i), which may be negative or above p: only its
// class mod p matters. Additions and subtractions are limb by limb with no carry; `normalize`
// (or any product) brings an element back to *normalised*: limbs 0..9 within 2^23 + 64 of zero,
// |a| < p. Doubles hold integers exactly below 2^53, so every caller keeps the inputs of mul/sqr
// within two bounds, checked formula by formula in jacobian.ts:
//   - limb growth: with g(a) = max |a[i]| / 2^23, g(a)·g(b) <= 8 (a column stays below 2^52.5);
//   - size: |a|·|b| < 2^7·p² (then |mul(a, b)| < p).
// Point tables store normalised elements (Int32Array holds their limbs).
import { SM2_P } from './curve';
import { mul, sqr } from './field-mul';

export { mul, sqr };

/** A field element: 11 limbs of 24 bits, least significant first, in Montgomery form. */
export type Fe = Float64Array;

export const LIMBS = 11;
const B = 16777216;
const INV_B = 1 / B;
const ROUND = 6755399441055744; // x + ROUND - ROUND rounds x (|x| < 2^51) to an integer
const R_BITS = 264n;

/** Plain (not Montgomery) limbs of 0 <= x < 2^264, each in [0, 2^24). */
function limbsOf(x: bigint): Fe {
  const hex = x.toString(16).padStart(LIMBS * 6, '0');
  const out = new Float64Array(LIMBS);
  for (let i = 0; i < LIMBS; i++) out[i] = parseInt(hex.slice(hex.length - 6 * (i + 1), hex.length - 6 * i), 16);
  return out;
}

const P_LIMBS = limbsOf(SM2_P);
const R2 = limbsOf(((1n << R_BITS) * (1n << R_BITS)) % SM2_P); // mul(x, R2) puts plain x into Montgomery form
const PLAIN_ONE = limbsOf(1n); // mul(a, PLAIN_ONE) takes a out of it

export function fe(): Fe {
  return new Float64Array(LIMBS);
}

/** The element for 0 <= x < 2^256, normalised. */
export function feFromBigInt(x: bigint): Fe {
  const out = limbsOf(x);
  mul(out, out, R2);
  return out;
}

export const ONE: Fe = feFromBigInt(1n);

/** The element for the 32 big-endian bytes at `offset`, or null if they are not below p. */
export function feFromBytes(bytes: Uint8Array, offset: number): Fe | null {
  const out = fe();
  const end = offset + 31;
  for (let i = 0; i < LIMBS - 1; i++) {
    const at = end - 3 * i;
    out[i] = bytes[at] | (bytes[at - 1] << 8) | (bytes[at - 2] << 16);
  }
  out[LIMBS - 1] = bytes[offset + 1] | (bytes[offset] << 8);
  for (let i = LIMBS - 1; i >= 0; i--) {
    if (out[i] !== P_LIMBS[i]) {
      if (out[i] > P_LIMBS[i]) return null;
      break;
    }
    if (i === 0) return null; // equal to p
  }
  mul(out, out, R2);
  return out;
}

export function copy(o: Fe, a: Fe): void {
  for (let i = 0; i < LIMBS; i++) o[i] = a[i];
}

/** o = a + b, limb by limb. */
export function add(o: Fe, a: Fe, b: Fe): void {
  o[0] = a[0] + b[0];
  o[1] = a[1] + b[1];
  o[2] = a[2] + b[2];
  o[3] = a[3] + b[3];
  o[4] = a[4] + b[4];
  o[5] = a[5] + b[5];
  o[6] = a[6] + b[6];
  o[7] = a[7] + b[7];
  o[8] = a[8] + b[8];
  o[9] = a[9] + b[9];
  o[10] = a[10] + b[10];
}

/** o = a - b, limb by limb. */
export function sub(o: Fe, a: Fe, b: Fe): void {
  o[0] = a[0] - b[0];
  o[1] = a[1] - b[1];
  o[2] = a[2] - b[2];
  o[3] = a[3] - b[3];
  o[4] = a[4] - b[4];
  o[5] = a[5] - b[5];
  o[6] = a[6] - b[6];
  o[7] = a[7] - b[7];
  o[8] = a[8] - b[8];
  o[9] = a[9] - b[9];
  o[10] = a[10] - b[10];
}

/** o = a + k·b for a small integer k (negative too), limb by limb. */
export function addScaled(o: Fe, a: Fe, b: Fe, k: number): void {
  o[0] = a[0] + k * b[0];
  o[1] = a[1] + k * b[1];
  o[2] = a[2] + k * b[2];
  o[3] = a[3] + k * b[3];
  o[4] = a[4] + k * b[4];
  o[5] = a[5] + k * b[5];
  o[6] = a[6] + k * b[6];
  o[7] = a[7] + k * b[7];
  o[8] = a[8] + k * b[8];
  o[9] = a[9] + k * b[9];
  o[10] = a[10] + k * b[10];
}

/** o = k·a for a small integer k (negative too), limb by limb. */
export function scale(o: Fe, a: Fe, k: number): void {
  o[0] = k * a[0];
  o[1] = k * a[1];
  o[2] = k * a[2];
  o[3] = k * a[3];
  o[4] = k * a[4];
  o[5] = k * a[5];
  o[6] = k * a[6];
  o[7] = k * a[7];
  o[8] = k * a[8];
  o[9] = k * a[9];
  o[10] = k * a[10];
}

export function neg(o: Fe, a: Fe): void {
  scale(o, a, -1);
}

/**
 * o ≡ a, normalised, for |a| < 2^12·p and limbs below 2^30. q = round(a[10] / 2^16) copies of p
 * come off first (p is 2^256 less a sparse sum, so that touches five limbs), then one carry pass
 * whose carries do not wait on each other.
 */
export function normalize(o: Fe, a: Fe): void {
  const q = a[10] * (1 / 65536) + ROUND - ROUND;
  const l0 = a[0] + q;
  const l2 = a[2] - q * 65536;
  const l4 = a[4] + q;
  const l9 = a[9] + q * 256;
  const l10 = a[10] - q * 65536;
  const c0 = l0 * INV_B + ROUND - ROUND;
  const c1 = a[1] * INV_B + ROUND - ROUND;
  const c2 = l2 * INV_B + ROUND - ROUND;
  const c3 = a[3] * INV_B + ROUND - ROUND;
  const c4 = l4 * INV_B + ROUND - ROUND;
  const c5 = a[5] * INV_B + ROUND - ROUND;
  const c6 = a[6] * INV_B + ROUND - ROUND;
  const c7 = a[7] * INV_B + ROUND - ROUND;
  const c8 = a[8] * INV_B + ROUND - ROUND;
  const c9 = l9 * INV_B + ROUND - ROUND;
  o[1] = a[1] - c1 * B + c0;
  o[3] = a[3] - c3 * B + c2;
  o[5] = a[5] - c5 * B + c4;
  o[6] = a[6] - c6 * B + c5;
  o[7] = a[7] - c7 * B + c6;
  o[8] = a[8] - c8 * B + c7;
  o[0] = l0 - c0 * B;
  o[2] = l2 - c2 * B + c1;
  o[4] = l4 - c4 * B + c3;
  o[9] = l9 - c9 * B + c8;
  o[10] = l10 + c9;
}

const work = new Float64Array(LIMBS);

/** Carries a into limbs 0..9 in [0, 2^24), in order; limb 10 keeps the sign. */
function carryExact(l: Fe): void {
  let c = 0;
  for (let i = 0; i < LIMBS - 1; i++) {
    const t = l[i] + c;
    c = Math.floor(t * INV_B);
    l[i] = t - c * B;
  }
  l[LIMBS - 1] += c;
}

/** o = a mod p: limbs in [0, 2^24), value in [0, p). The one form equal elements share. */
export function canonical(o: Fe, a: Fe): void {
  const l = work;
  copy(l, a);
  carryExact(l);
  // Now a = l10·2^240 + (something in [0, 2^240)); take q = ⌊l10 / 2^16⌋ copies of p off.
  const q = Math.floor(l[10] / 65536);
  l[0] += q;
  l[2] -= q * 65536;
  l[4] += q;
  l[9] += q * 256;
  l[10] -= q * 65536;
  carryExact(l); // within 2^233 of [0, 2^256)
  const sign = l[10] < 0 ? 1 : -1; // add p if negative, else try taking one more off
  for (let i = 0; i < LIMBS; i++) l[i] += sign * P_LIMBS[i];
  carryExact(l);
  if (sign === -1 && l[10] < 0) for (let i = 0; i < LIMBS; i++) l[i] += P_LIMBS[i];
  carryExact(l);
  copy(o, l);
}

const zeroCheck = new Float64Array(LIMBS);

/** a ≡ 0 (mod p), for |a| < 2^7·p. */
export function isZero(a: Fe): boolean {
  // a = j·p with |j| < 2^7 would make a ≡ -j (mod 2^24), as p ≡ -1: a cheap test rules out the rest.
  const low = a[0] - (a[0] * INV_B + ROUND - ROUND) * B;
  if (low > 128 || low < -128) return false;
  canonical(zeroCheck, a);
  for (let i = 0; i < LIMBS; i++) if (zeroCheck[i] !== 0) return false;
  return true;
}

const difference = new Float64Array(LIMBS);

/** a ≡ b (mod p). */
export function equal(a: Fe, b: Fe): boolean {
  sub(difference, a, b);
  return isZero(difference);
}

/** The integer in [0, p) that a stands for. */
export function feToBigInt(a: Fe): bigint {
  const plain = fe();
  mul(plain, a, PLAIN_ONE);
  canonical(plain, plain);
  let hex = '';
  for (let i = LIMBS - 1; i >= 0; i--) hex += plain[i].toString(16).padStart(6, '0');
  return BigInt(`0x${hex}`);
}

/** o = a^(2^n)·b: n squarings, then one product. */
function squareThenMultiply(o: Fe, a: Fe, n: number, b: Fe): void {
  copy(o, a);
  for (let i = 0; i < n; i++) sqr(o, o);
  mul(o, o, b);
}

const [x1, x2, x4, x8, x15, x30, x32, t] = Array.from({ length: 8 }, fe);

/**
 * o = a⁻¹ mod p (0 for a ≡ 0) as a^(p-2), by a fixed chain of 257 squarings and 15 products
 * whatever a is. p - 2 is, from the top: 31 ones, a zero, 128 ones, 32 zeros, 62 ones, 0, 1.
 */
export function invert(o: Fe, a: Fe): void {
  normalize(x1, a);
  squareThenMultiply(x2, x1, 1, x1); // x_k = a^(2^k - 1)
  squareThenMultiply(x4, x2, 2, x2);
  squareThenMultiply(x8, x4, 4, x4);
  squareThenMultiply(t, x8, 4, x4); // x12
  squareThenMultiply(t, t, 2, x2); // x14
  squareThenMultiply(x15, t, 1, x1);
  squareThenMultiply(x30, x15, 15, x15);
  squareThenMultiply(x32, x30, 2, x2);
  squareThenMultiply(t, x30, 1, x1); // 31 ones
  sqr(t, t); // the zero
  for (let i = 0; i < 4; i++) squareThenMultiply(t, t, 32, x32); // 128 ones
  for (let i = 0; i < 32; i++) sqr(t, t); // 32 zeros
  squareThenMultiply(t, t, 32, x32);
  squareThenMultiply(t, t, 30, x30); // 62 ones
  sqr(t, t); // 0
  squareThenMultiply(o, t, 1, x1); // 1
}
