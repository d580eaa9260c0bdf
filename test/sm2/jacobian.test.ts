// The point formulas, the wNAF, the fixed-base and the comb multiplications on the limb field,
// against noble's generic projective points.
import fc from 'fast-check';
import { Point, SM2_N, SM2_P } from '../../src/sm2/curve';
import { fe, feFromBigInt, feToBigInt, invert, mul, sqr } from '../../src/sm2/field';
import {
  addAffine,
  addCached,
  affineX,
  cachePoint,
  double,
  hasAffineX,
  newCachedPoint,
  newPoint,
  setAffine,
  setInfinity,
  type Jacobian,
} from '../../src/sm2/jacobian';
import { multiplyAffine, wnafDigits } from '../../src/sm2/wnaf';
import { addFixedMultiple, buildFixedBaseTable, multiplyFixedUniform } from '../../src/sm2/fixed-base';
import { buildCombTable, combMultiply } from '../../src/sm2/comb';

type Affine = { x: bigint; y: bigint };

function toAffine(p: Jacobian): Affine | null {
  const zi = fe();
  invert(zi, p.z);
  if (feToBigInt(zi) === 0n) return null;
  const zi2 = fe();
  sqr(zi2, zi);
  const x = fe();
  mul(x, p.x, zi2);
  mul(zi2, zi2, zi);
  const y = fe();
  mul(y, p.y, zi2);
  return { x: feToBigInt(x), y: feToBigInt(y) };
}

function jacobianOf({ x, y }: Affine, z = 1n): Jacobian {
  const p = newPoint();
  const z2 = (z * z) % SM2_P;
  p.x.set(feFromBigInt((x * z2) % SM2_P));
  p.y.set(feFromBigInt((((y * z2) % SM2_P) * z) % SM2_P));
  p.z.set(feFromBigInt(z));
  return p;
}

const G = Point.BASE.toAffine();
const Q = Point.BASE.multiply(0x1234567890abcdefn).toAffine();
const mulNoble = (point: Affine, k: bigint) => {
  const r = Point.fromAffine(point).multiplyUnsafe(k % SM2_N);
  return r.is0() ? null : r.toAffine();
};

const EDGE = [
  1n,
  2n,
  3n,
  7n,
  8n,
  15n,
  16n,
  17n,
  31n,
  32n,
  33n,
  63n,
  64n,
  0xffffn,
  0x8000000000000000n,
  2n ** 255n,
  SM2_N - 1n,
  SM2_N - 2n,
  (SM2_N - 1n) / 2n,
  2n ** 256n - SM2_N,
];
const scalar = fc.bigInt(1n, SM2_N - 1n);

test('wNAF digits rebuild k, are odd, bounded and sparse', () => {
  fc.assert(
    fc.property(scalar, (k) => {
      const digits = wnafDigits(k);
      let sum = 0n;
      let lastNonZero = -100;
      digits.forEach((digit, i) => {
        if (digit === 0) return;
        expect(Math.abs(digit) % 2).toBe(1);
        expect(Math.abs(digit)).toBeLessThan(16);
        expect(i - lastNonZero).toBeGreaterThanOrEqual(5);
        lastNonZero = i;
        sum += BigInt(digit) << BigInt(i);
      });
      expect(sum).toBe(k);
    }),
    { numRuns: 100 },
  );
});

test('k·P by the wNAF matches noble for edge and random scalars', () => {
  const o = newPoint();
  const check = (point: Affine, k: bigint) => {
    multiplyAffine(o, feFromBigInt(point.x), feFromBigInt(point.y), k);
    expect(toAffine(o)).toEqual(mulNoble(point, k));
  };
  for (const k of [0n, ...EDGE, SM2_N]) {
    check(G, k);
    check(Q, k);
  }
  fc.assert(
    fc.property(scalar, (k) => check(Q, k)),
    { numRuns: 40 },
  );
});

test('mixed and cached additions handle infinity, doubling and inverse points', () => {
  const inf = newPoint();
  setInfinity(inf);
  const qx = feFromBigInt(Q.x);
  const qy = feFromBigInt(Q.y);
  const qyNeg = feFromBigInt(SM2_P - Q.y);
  const o = newPoint();
  const twiceQ = Point.fromAffine(Q).double().toAffine();
  const sumGQ = Point.fromAffine(G).add(Point.fromAffine(Q)).toAffine();

  addAffine(o, inf, qx, qy);
  expect(toAffine(o)).toEqual(Q);
  addAffine(o, jacobianOf(Q, 0xdeadbeefn), qx, qy);
  expect(toAffine(o)).toEqual(twiceQ);
  addAffine(o, jacobianOf(Q, 0xdeadbeefn), qx, qyNeg);
  expect(toAffine(o)).toBeNull();
  expect(affineX(o)).toBeNull();
  addAffine(o, jacobianOf(G, 5n), qx, qy);
  expect(toAffine(o)).toEqual(sumGQ);

  const cached = newCachedPoint();
  const q7 = jacobianOf(Q, 7n);
  cached.x.set(q7.x);
  cached.y.set(q7.y);
  cached.z.set(q7.z);
  cachePoint(cached);
  addCached(o, inf, cached, false);
  expect(toAffine(o)).toEqual(Q);
  addCached(o, inf, cached, true);
  expect(toAffine(o)).toEqual({ x: Q.x, y: SM2_P - Q.y });
  addCached(o, jacobianOf(Q, 11n), cached, false);
  expect(toAffine(o)).toEqual(twiceQ);
  addCached(o, jacobianOf(Q, 11n), cached, true);
  expect(toAffine(o)).toBeNull();
  addCached(o, jacobianOf(G, 3n), cached, false);
  expect(toAffine(o)).toEqual(sumGQ);
  addCached(o, jacobianOf(G, 3n), cached, true);
  expect(toAffine(o)).toEqual(Point.fromAffine(G).subtract(Point.fromAffine(Q)).toAffine());

  double(o, inf);
  expect(toAffine(o)).toBeNull();
  double(o, jacobianOf(Q, 0x1234n));
  expect(toAffine(o)).toEqual(twiceQ);
  // Results may overwrite their input.
  const p = jacobianOf(Q, 9n);
  double(p, p);
  addAffine(p, p, qx, qy);
  expect(toAffine(p)).toEqual(Point.fromAffine(Q).multiply(3n).toAffine());
});

test('hasAffineX compares X/Z² with x without inverting', () => {
  const p = jacobianOf(Q, 0xabcdefn);
  expect(affineX(p)).toBe(Q.x);
  expect(hasAffineX(p, Q.x)).toBe(true);
  expect(hasAffineX(p, Q.x + 1n)).toBe(false);
  expect(hasAffineX(p, Q.x + SM2_P)).toBe(false);
  const inf = newPoint();
  setInfinity(inf);
  expect(hasAffineX(inf, 0n)).toBe(false);
  const one = newPoint();
  setAffine(one, feFromBigInt(Q.x), feFromBigInt(Q.y));
  expect(hasAffineX(one, Q.x)).toBe(true);
});

describe('table multiplications match noble', () => {
  const check = (got: Jacobian, point: Affine, k: bigint) => expect(toAffine(got)).toEqual(mulNoble(point, k));

  test('fixed-base windows, with skipped and with uniform additions', () => {
    for (const window of [4, 6]) {
      const table = buildFixedBaseTable(Q.x, Q.y, window);
      const o = newPoint();
      const acc = newPoint();
      for (const k of [0n, ...EDGE]) {
        setInfinity(acc);
        addFixedMultiple(acc, table, k);
        check(acc, Q, k);
        multiplyFixedUniform(o, table, k);
        check(o, Q, k);
      }
      // Adding onto a non-empty accumulator, including where it cancels.
      const start = jacobianOf(G, 3n);
      addFixedMultiple(start, table, 5n);
      expect(toAffine(start)).toEqual(Point.fromAffine(G).add(Point.fromAffine(Q).multiply(5n)).toAffine());
      const minusQ = jacobianOf({ x: Q.x, y: SM2_P - Q.y });
      addFixedMultiple(minusQ, table, 1n);
      expect(toAffine(minusQ)).toBeNull();
    }
  });

  test('comb tables of every size', () => {
    const x = feFromBigInt(Q.x);
    const y = feFromBigInt(Q.y);
    const o = newPoint();
    for (let teeth = 1; teeth <= 8; teeth++) {
      const table = buildCombTable(x, y, teeth);
      for (const k of [0n, ...EDGE]) {
        combMultiply(o, table, k);
        check(o, Q, k);
      }
    }
    const table = buildCombTable(x, y, 6);
    fc.assert(
      fc.property(scalar, (k) => {
        combMultiply(o, table, k);
        check(o, Q, k);
      }),
      { numRuns: 40 },
    );
  });
});
