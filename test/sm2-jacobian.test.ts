// The verify-side Jacobian arithmetic against noble's generic projective points.
import fc from 'fast-check';
import { invert } from '@noble/curves/abstract/modular';
import { Point, SM2_N, SM2_P } from '../src/sm2/curve';
import { addAffine, affineX, multiplyAffine, wnafDigits, type Jacobian } from '../src/sm2/jacobian';

function toAffine([X, Y, Z]: Jacobian): { x: bigint; y: bigint } | null {
  if (Z === 0n) return null;
  const zi = invert(Z, SM2_P);
  const zi2 = (zi * zi) % SM2_P;
  return { x: (X * zi2) % SM2_P, y: (((Y * zi2) % SM2_P) * zi) % SM2_P };
}

/** Same point, different Jacobian representative. */
function scaled({ x, y }: { x: bigint; y: bigint }, z: bigint): Jacobian {
  const z2 = (z * z) % SM2_P;
  return [(x * z2) % SM2_P, (((y * z2) % SM2_P) * z) % SM2_P, z];
}

const G = Point.BASE.toAffine();
const Q = Point.BASE.multiply(0x1234567890abcdefn).toAffine();

function expectMul(point: { x: bigint; y: bigint }, k: bigint): void {
  const want = Point.fromAffine(point).multiplyUnsafe(k);
  const got = toAffine(multiplyAffine(point.x, point.y, k));
  if (want.is0()) expect(got).toBeNull();
  else expect(got).toEqual(want.toAffine());
}

test('wNAF digits rebuild k, are odd, bounded and sparse', () => {
  fc.assert(
    fc.property(fc.bigInt(1n, SM2_N - 1n), (k) => {
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

test('k·P matches noble for edge and random scalars', () => {
  const edge = [
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
    0xffffn,
    2n ** 255n,
    SM2_N - 1n,
    SM2_N - 2n,
    (SM2_N - 1n) / 2n,
    2n ** 256n - SM2_N,
  ];
  for (const k of edge) {
    expectMul(G, k);
    expectMul(Q, k);
  }
  fc.assert(
    fc.property(fc.bigInt(1n, SM2_N - 1n), (k) => expectMul(Q, k)),
    { numRuns: 30 },
  );
});

test('mixed addition handles infinity, doubling and inverse points', () => {
  const inf: Jacobian = [0n, 1n, 0n];
  expect(toAffine(addAffine(inf, Q.x, Q.y))).toEqual(Q);
  const q = scaled(Q, 0xdeadbeefn);
  expect(toAffine(addAffine(q, Q.x, Q.y))).toEqual(Point.fromAffine(Q).double().toAffine());
  expect(addAffine(q, Q.x, SM2_P - Q.y)[2]).toBe(0n);
  expect(affineX(addAffine(q, Q.x, SM2_P - Q.y))).toBeNull();
  expect(toAffine(addAffine(scaled(G, 5n), Q.x, Q.y))).toEqual(Point.fromAffine(G).add(Point.fromAffine(Q)).toAffine());
  expect(affineX(scaled(Q, 77n))).toBe(Q.x);
});
