// Point formulas on sm2p256v1 in Jacobian coordinates (X, Y, Z) ↦ (X/Z², Y/Z³), over the limb
// field of field.ts, using a = -3. Z ≡ 0 is the point at infinity. Outputs may alias inputs.
// Exceptional cases (adding a point to itself or to its negative) are handled, so the results
// are right for any input, not just for honest signatures. Not constant-time.
import {
  LIMBS,
  ONE,
  add,
  addScaled,
  copy,
  equal,
  fe,
  feFromBigInt,
  feToBigInt,
  invert,
  isZero,
  mul,
  neg,
  normalize,
  scale,
  sqr,
  sub,
  type Fe,
} from './field';
import { SM2_P } from './curve';

export interface Jacobian {
  readonly x: Fe;
  readonly y: Fe;
  readonly z: Fe;
}

/** A Jacobian point with Z², Z³ and -Y kept, for adding it many times (a wNAF table entry). */
export interface CachedPoint extends Jacobian {
  readonly zz: Fe;
  readonly zzz: Fe;
  readonly negY: Fe;
}

// Every coordinate a function here writes is normalised (see field.ts). The comments in brackets
// give, for each product, the limb growth of its inputs and the bound on their size, in units of
// 2^23 and of p: inputs normalised or canonical (table entries: growth 2).

export function newPoint(): Jacobian {
  return { x: fe(), y: fe(), z: fe() };
}

export function setInfinity(o: Jacobian): void {
  copy(o.x, ONE);
  copy(o.y, ONE);
  o.z.fill(0);
}

/** o = (x, y) with Z = 1. */
export function setAffine(o: Jacobian, x: Fe, y: Fe): void {
  normalize(o.x, x);
  normalize(o.y, y);
  copy(o.z, ONE);
}

const [delta, gamma, beta, alpha, t1, t2] = Array.from({ length: 6 }, fe);

/** o = 2p, dbl-2001-b: 3M + 5S. */
export function double(o: Jacobian, p: Jacobian): void {
  if (isZero(p.z)) return setInfinity(o);
  sqr(delta, p.z);
  sqr(gamma, p.y);
  mul(beta, p.x, gamma);
  sub(t1, p.x, delta);
  add(t2, p.x, delta);
  mul(alpha, t1, t2); // [2·2, 2p·2p] α/3 = (X - δ)(X + δ)
  add(t1, p.y, p.z);
  sqr(t1, t1); // [2·2, 2p·2p]
  sub(t1, t1, gamma);
  sub(t1, t1, delta);
  normalize(o.z, t1); // Z3 = (Y + Z)² - γ - δ
  sqr(t1, alpha);
  scale(t1, t1, 9);
  addScaled(t1, t1, beta, -8);
  normalize(o.x, t1); // X3 = α² - 8β
  scale(t1, beta, 4);
  sub(t1, t1, o.x);
  mul(t1, alpha, t1); // [1·5, p·5p]
  sqr(t2, gamma);
  scale(t1, t1, 3);
  addScaled(t1, t1, t2, -8);
  normalize(o.y, t1); // Y3 = α(4β - X3) - 8γ²
}

const [z1z1, u1, u2, s1, s2, h, hh, hhh, r, v] = Array.from({ length: 10 }, fe);

/**
 * o = (U1, S1) + (U2, S2) once the caller has put both on the common denominator p.z·Z2 (H and R
 * are the differences U2 - U1 and S2 - S1, growth 2 and size 2p at most): add-1998-cmo's tail.
 * Writes o.x and o.y; the caller writes o.z = Z1·Z2·H.
 */
function finishAddition(o: Jacobian, u: Fe, s: Fe): void {
  sqr(hh, h); // [2·2, 2p·2p]
  mul(hhh, h, hh);
  mul(v, u, hh); // V = U1·H²
  sqr(t1, r); // [2·2, 2p·2p]
  sub(t1, t1, hhh);
  addScaled(t1, t1, v, -2);
  normalize(o.x, t1); // X3 = R² - H³ - 2V
  sub(t2, v, o.x);
  mul(t2, r, t2); // [2·2, 2p·2p]
  mul(t1, s, hhh);
  sub(t2, t2, t1);
  normalize(o.y, t2); // Y3 = R(V - X3) - S1·H³
}

/** o = p + (x2, y2) for an affine (x2, y2): 8M + 3S. */
export function addAffine(o: Jacobian, p: Jacobian, x2: Fe, y2: Fe): void {
  if (isZero(p.z)) return setAffine(o, x2, y2);
  sqr(z1z1, p.z);
  mul(u2, x2, z1z1); // [2·1]
  mul(s2, y2, p.z); // [2·1]
  mul(s2, s2, z1z1);
  sub(h, u2, p.x);
  sub(r, s2, p.y);
  if (isZero(h)) return isZero(r) ? double(o, p) : setInfinity(o);
  finishAddition(o, p.x, p.y); // reads p.x and p.y before it writes o.x and o.y
  mul(o.z, p.z, h); // [1·2]
}

/** o = p + q (q negated if `negate`) for a cached q: 11M + 3S. */
export function addCached(o: Jacobian, p: Jacobian, q: CachedPoint, negate: boolean): void {
  const qy = negate ? q.negY : q.y;
  if (isZero(p.z)) {
    copy(o.x, q.x);
    copy(o.y, qy);
    copy(o.z, q.z);
    return;
  }
  sqr(z1z1, p.z);
  mul(u1, p.x, q.zz);
  mul(u2, q.x, z1z1);
  mul(s1, p.y, q.zzz);
  mul(s2, p.z, z1z1);
  mul(s2, qy, s2);
  sub(h, u2, u1);
  sub(r, s2, s1);
  if (isZero(h)) return isZero(r) ? double(o, p) : setInfinity(o);
  finishAddition(o, u1, s1);
  mul(t1, p.z, q.z);
  mul(o.z, t1, h); // [1·2]
}

/** Fills in Z², Z³ and -Y of q from its x, y, z. */
export function cachePoint(q: CachedPoint): void {
  sqr(q.zz, q.z);
  mul(q.zzz, q.zz, q.z);
  neg(q.negY, q.y);
}

export function newCachedPoint(): CachedPoint {
  return { x: fe(), y: fe(), z: fe(), zz: fe(), zzz: fe(), negY: fe() };
}

const prefixPool: Fe[] = [];
const [acc, inv, zInv, zInv2] = Array.from({ length: 4 }, fe);

/**
 * Affine coordinates of points[i] into xs/ys at entry `first + i` (LIMBS limbs each, normalised),
 * with one inversion for all of them (Montgomery's trick). No point may be at infinity.
 */
export function storeAffineBatch(points: Jacobian[], xs: Int32Array, ys: Int32Array, first: number): void {
  while (prefixPool.length < points.length) prefixPool.push(fe());
  copy(acc, ONE);
  for (let i = 0; i < points.length; i++) {
    copy(prefixPool[i], acc);
    mul(acc, acc, points[i].z);
  }
  invert(inv, acc);
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i];
    mul(zInv, inv, prefixPool[i]);
    mul(inv, inv, p.z);
    sqr(zInv2, zInv);
    mul(t1, p.x, zInv2);
    xs.set(t1, (first + i) * LIMBS);
    mul(zInv2, zInv2, zInv);
    mul(t1, p.y, zInv2);
    ys.set(t1, (first + i) * LIMBS);
  }
}

/** Copies entry `index` of an affine table (as storeAffineBatch writes it) into x and y. */
export function loadAffine(x: Fe, y: Fe, xs: Int32Array, ys: Int32Array, index: number): void {
  const at = index * LIMBS;
  for (let i = 0; i < LIMBS; i++) {
    x[i] = xs[at + i];
    y[i] = ys[at + i];
  }
}

/** Affine x of p as an integer in [0, p), or null at infinity. */
export function affineX(p: Jacobian): bigint | null {
  if (isZero(p.z)) return null;
  const zInv = fe();
  invert(zInv, p.z);
  sqr(zInv, zInv);
  mul(zInv, p.x, zInv);
  return feToBigInt(zInv);
}

/** Whether p is not at infinity and its affine x is x (0 <= x < p), without an inversion: X = x·Z². */
export function hasAffineX(p: Jacobian, x: bigint): boolean {
  if (isZero(p.z) || x >= SM2_P) return false;
  const zz = fe();
  sqr(zz, p.z);
  const xzz = feFromBigInt(x);
  mul(xzz, xzz, zz);
  return equal(xzz, p.x);
}
