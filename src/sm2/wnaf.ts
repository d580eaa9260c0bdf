// Variable-base multiplication k·P for a point with no table of its own (a key seen for the first
// time): width-5 NAF, about 256 doublings and 43 additions, with the odd multiples P, 3P, ..., 15P
// kept in Jacobian form so that no inversion is needed. Public scalars only: not constant-time.
import { type Fe } from './field';
import { addCached, cachePoint, double, newCachedPoint, setAffine, setInfinity, type Jacobian } from './jacobian';

const WINDOW = 5;
const TABLE_SIZE = 1 << (WINDOW - 2); // odd multiples 1P, 3P, ..., 15P

/** Width-w NAF digits of k, least significant first: each non-zero digit is odd and |d| < 2^(w-1). */
export function wnafDigits(k: bigint, w: number = WINDOW): Int8Array {
  const binary = k.toString(2);
  const n = binary.length;
  const bits = new Uint8Array(n + w + 1);
  for (let i = 0; i < n; i++) bits[i] = binary.charCodeAt(n - 1 - i) - 48;
  const digits = new Int8Array(n + 1);
  const full = 1 << w;
  const half = 1 << (w - 1);
  for (let i = 0; i <= n;) {
    if (bits[i] === 0) {
      i++;
      continue;
    }
    let v = 0;
    for (let j = w - 1; j >= 0; j--) v = v * 2 + bits[i + j];
    for (let j = 0; j < w; j++) bits[i + j] = 0;
    if (v >= half) {
      v -= full;
      // Subtracting a negative digit leaves +2^w to carry into the bits above the window.
      let c = i + w;
      while (bits[c] === 1) bits[c++] = 0;
      bits[c] = 1;
    }
    digits[i] = v;
    i += w;
  }
  return digits;
}

const odd = Array.from({ length: TABLE_SIZE }, newCachedPoint);
const twice = newCachedPoint();

/** o = k·(x, y) for an affine point on the curve and 0 <= k. */
export function multiplyAffine(o: Jacobian, x: Fe, y: Fe, k: bigint): void {
  setAffine(odd[0], x, y);
  cachePoint(odd[0]);
  double(twice, odd[0]);
  cachePoint(twice);
  for (let i = 1; i < TABLE_SIZE; i++) {
    addCached(odd[i], odd[i - 1], twice, false);
    cachePoint(odd[i]);
  }
  const digits = wnafDigits(k);
  setInfinity(o);
  for (let i = digits.length - 1; i >= 0; i--) {
    double(o, o);
    const d = digits[i];
    if (d !== 0) addCached(o, o, odd[(d > 0 ? d : -d) >> 1], d < 0);
  }
}
