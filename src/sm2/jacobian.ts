// Variable-base scalar multiplication for verification, in Jacobian coordinates with the a = -3
// shortcut and a width-5 NAF. noble's generic complete formulas cost about twice as many field
// multiplications per doubling, and a verification is ~256 doublings of a public point.
// Everything here handles public data only and is not constant-time.
import { BASE_WINDOW, SM2_GX, SM2_GY, SM2_P as P, invertMod } from './curve';

/** Jacobian (X, Y, Z) ↦ affine (X/Z², Y/Z³); Z = 0 is the point at infinity. */
export type Jacobian = [bigint, bigint, bigint];

const WINDOW = 5;
const TABLE_SIZE = 1 << (WINDOW - 2); // odd multiples 1P, 3P, ..., 15P

function sub(a: bigint, b: bigint): bigint {
  const r = a - b;
  return r < 0n ? r + P : r;
}

/** dbl-2001-b: 3M + 5S. */
function double([X1, Y1, Z1]: Jacobian): Jacobian {
  if (Z1 === 0n) return [0n, 1n, 0n];
  const delta = (Z1 * Z1) % P;
  const gamma = (Y1 * Y1) % P;
  const beta = (X1 * gamma) % P;
  const alpha = (3n * ((sub(X1, delta) * (X1 + delta)) % P)) % P;
  const X3 = sub((alpha * alpha) % P, (8n * beta) % P);
  const yz = Y1 + Z1;
  const Z3 = sub(sub((yz * yz) % P, gamma), delta);
  const Y3 = sub((alpha * sub((4n * beta) % P, X3)) % P, (8n * ((gamma * gamma) % P)) % P);
  return [X3, Y3, Z3];
}

/** madd-2007-bl: Jacobian + affine (x2, y2) in 7M + 4S, with the exceptional cases handled. */
export function addAffine(p: Jacobian, x2: bigint, y2: bigint): Jacobian {
  const [X1, Y1, Z1] = p;
  if (Z1 === 0n) return [x2, y2, 1n];
  const Z1Z1 = (Z1 * Z1) % P;
  const U2 = (x2 * Z1Z1) % P;
  const S2 = (((y2 * Z1) % P) * Z1Z1) % P;
  const H = sub(U2, X1);
  const r = (2n * sub(S2, Y1)) % P;
  if (H === 0n) return r === 0n ? double(p) : [0n, 1n, 0n];
  const HH = (H * H) % P;
  const I = (4n * HH) % P;
  const J = (H * I) % P;
  const V = (X1 * I) % P;
  const X3 = sub(sub((r * r) % P, J), (2n * V) % P);
  const Y3 = sub((r * sub(V, X3)) % P, (((2n * Y1) % P) * J) % P);
  const zh = Z1 + H;
  const Z3 = sub(sub((zh * zh) % P, Z1Z1), HH);
  return [X3, Y3, Z3];
}

/** Affine coordinates of several Jacobian points with one inversion (Montgomery's trick). */
function toAffineBatch(points: Jacobian[]): Array<[bigint, bigint]> {
  const prefix: bigint[] = [];
  let acc = 1n;
  for (const [, , Z] of points) {
    prefix.push(acc);
    acc = (acc * Z) % P;
  }
  let inv = invertMod(acc, P);
  const out = new Array<[bigint, bigint]>(points.length);
  for (let i = points.length - 1; i >= 0; i--) {
    const [X, Y, Z] = points[i];
    const zInv = (inv * prefix[i]) % P;
    inv = (inv * Z) % P;
    const zInv2 = (zInv * zInv) % P;
    out[i] = [(X * zInv2) % P, (((Y * zInv2) % P) * zInv) % P];
  }
  return out;
}

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

/** k·(x, y) for an affine point on the curve and 0 < k < n. */
export function multiplyAffine(x: bigint, y: bigint, k: bigint): Jacobian {
  // Table of odd multiples, made affine so the main loop can use mixed additions.
  const twice = toAffineBatch([double([x, y, 1n])])[0];
  const odd: Jacobian[] = [[x, y, 1n]];
  for (let i = 1; i < TABLE_SIZE; i++) odd.push(addAffine(odd[i - 1], twice[0], twice[1]));
  const table = toAffineBatch(odd);
  const negY = table.map(([, ty]) => P - ty); // y is never 0: the group has odd order

  const digits = wnafDigits(k);
  let acc: Jacobian = [0n, 1n, 0n];
  for (let i = digits.length - 1; i >= 0; i--) {
    acc = double(acc);
    const d = digits[i];
    if (d > 0) acc = addAffine(acc, table[(d - 1) >> 1][0], table[(d - 1) >> 1][1]);
    else if (d < 0) acc = addAffine(acc, table[(-d - 1) >> 1][0], negY[(-d - 1) >> 1]);
  }
  return acc;
}

/** Affine x of a Jacobian point, or null at infinity. */
export function affineX([X, , Z]: Jacobian): bigint | null {
  if (Z === 0n) return null;
  const zInv = invertMod(Z, P);
  return (X * ((zInv * zInv) % P)) % P;
}

/**
 * Affine multiples d·2^(w·j)·P for every window j and 1 <= d <= 2^(w-1), flattened: entry
 * (j, d) is at j·2^(w-1) + d - 1. With signed base-2^w digits, k·P is then one mixed addition
 * per window and no doubling at all.
 */
export interface FixedBaseTable {
  readonly window: number;
  readonly windows: number;
  readonly xs: bigint[];
  readonly ys: bigint[];
}

/** Builds the table for the affine point (x, y); costs about 2^(w-1)·(256/w) mixed additions. */
export function buildFixedBaseTable(x: bigint, y: bigint, window: number): FixedBaseTable {
  const rowSize = 1 << (window - 1);
  const windows = Math.ceil(256 / window) + 1; // + 1 for the carry out of the top digit
  const xs: bigint[] = [];
  const ys: bigint[] = [];
  let bx = x;
  let by = y;
  for (let j = 0; j < windows; j++) {
    const row: Jacobian[] = [[bx, by, 1n]];
    for (let d = 1; d < rowSize; d++) row.push(addAffine(row[d - 1], bx, by));
    row.push(double(row[rowSize - 1])); // 2^(w-1)·B doubled: the base of the next window
    const affine = toAffineBatch(row);
    for (let d = 0; d < rowSize; d++) {
      xs.push(affine[d][0]);
      ys.push(affine[d][1]);
    }
    [bx, by] = affine[rowSize];
  }
  return { window, windows, xs, ys };
}

/** Signed base-2^w digits of 0 <= k < 2^256, least significant first, each in [-2^(w-1), 2^(w-1)). */
function signedDigits(k: bigint, window: number, windows: number): Int16Array {
  const digits = new Int16Array(windows);
  const mask = BigInt((1 << window) - 1);
  const shift = BigInt(window);
  const half = 1 << (window - 1);
  let carry = 0;
  for (let j = 0; j < windows; j++) {
    let v = Number(k & mask) + carry;
    k >>= shift;
    carry = 0;
    if (v >= half) {
      v -= 1 << window;
      carry = 1;
    }
    digits[j] = v;
  }
  return digits;
}

/** acc + k·P from P's table; `acc` is consumed. Zero digits are skipped (public scalars only). */
export function addFixedMultiple(acc: Jacobian, table: FixedBaseTable, k: bigint): Jacobian {
  const digits = signedDigits(k, table.window, table.windows);
  const rowSize = 1 << (table.window - 1);
  for (let j = 0; j < digits.length; j++) {
    const d = digits[j];
    if (d === 0) continue;
    const at = j * rowSize + (d > 0 ? d : -d) - 1;
    acc = addAffine(acc, table.xs[at], d > 0 ? table.ys[at] : P - table.ys[at]);
  }
  return acc;
}

/**
 * k·P from P's table for a secret k: one addition for every window, a zero digit adding into a
 * throw-away accumulator, so the count of additions does not depend on k. (BigInt arithmetic is
 * not constant-time; this only avoids the grossest leak, as noble's fake additions do.)
 */
export function multiplyFixedUniform(table: FixedBaseTable, k: bigint): Jacobian {
  const digits = signedDigits(k, table.window, table.windows);
  const rowSize = 1 << (table.window - 1);
  let acc: Jacobian = [0n, 1n, 0n];
  let dummy: Jacobian = [table.xs[0], table.ys[0], 1n];
  for (let j = 0; j < digits.length; j++) {
    const d = digits[j];
    const at = j * rowSize + (d > 0 ? d : d < 0 ? -d : 1) - 1;
    const y = d >= 0 ? table.ys[at] : P - table.ys[at];
    if (d === 0) dummy = addAffine(dummy, table.xs[at], y);
    else acc = addAffine(acc, table.xs[at], y);
  }
  return acc;
}

let gTable: FixedBaseTable | null = null;

/** The table of G (about 0.5 MB), built on first use so that importing stays cheap. */
export function baseTable(): FixedBaseTable {
  gTable ??= buildFixedBaseTable(SM2_GX, SM2_GY, BASE_WINDOW);
  return gTable;
}
