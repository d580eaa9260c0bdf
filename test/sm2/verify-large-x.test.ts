// Verification when the x coordinate of s·G + t·P lies in [n, p): then x1 = (r - e) mod n is that
// x minus n, and only the second check of verify.ts (x1 + n < p) finds it. Random signatures land
// there with probability about 2^-128, so the case is built: a point R with x_R >= n, then a key P
// and a digest e for which s·G + t·P = R.
import { Point, SM2_A, SM2_B, SM2_N, SM2_P, invertMod, modN } from '../../src/sm2/curve';
import { bigIntTo32Bytes } from '../../src/sm2/bytes';
import { sm2VerifyDigest } from '../../src/sm2';

const modP = (x: bigint) => ((x % SM2_P) + SM2_P) % SM2_P;

function powP(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  for (let b = modP(base), e = exponent; e > 0n; e >>= 1n, b = (b * b) % SM2_P)
    if (e & 1n) result = (result * b) % SM2_P;
  return result;
}

/** The first point on the curve whose x is at least n (p ≡ 3 mod 4, so a square root is one power). */
function pointWithLargeX() {
  for (let x = SM2_N; ; x++) {
    const rhs = modP(x * x * x + SM2_A * x + SM2_B);
    const y = powP(rhs, (SM2_P + 1n) / 4n);
    if ((y * y) % SM2_P === rhs) return Point.fromAffine({ x, y });
  }
}

const concat = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b]);

test('a signature whose point has x in [n, p) verifies, and a changed digest does not', () => {
  const R = pointWithLargeX();
  const xR = R.toAffine().x;
  expect(xR >= SM2_N && xR < SM2_P).toBe(true);
  const s = 0x1234567890abcdef1234567890abcdefn;
  const t = 0x0fedcba9876543210fedcba987654321n;
  const publicKey = R.subtract(Point.BASE.multiply(s)).multiply(invertMod(t, SM2_N)).toBytes(false);
  const r = modN(t - s);
  const e = bigIntTo32Bytes(modN(r - xR));
  const signature = concat(bigIntTo32Bytes(r), bigIntTo32Bytes(s));
  expect(sm2VerifyDigest(publicKey, e, signature)).toBe(true);
  const otherDigest = bigIntTo32Bytes(modN(r - xR + 1n));
  expect(sm2VerifyDigest(publicKey, otherDigest, signature)).toBe(false);
});
