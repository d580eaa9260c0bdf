// Fixed-base multiplication from a table of affine multiples: entry (j, d) = d·2^(w·j)·P for
// every window j and 1 <= d <= 2^(w-1). With signed base-2^w digits, k·P is then one mixed
// addition per window and no doubling at all. G's table serves sign and verify.
import { BASE_WINDOW, SM2_GX, SM2_GY } from './curve';
import { LIMBS, fe, feFromBigInt, neg } from './field';
import {
  addAffine,
  double,
  loadAffine,
  newPoint,
  setAffine,
  setInfinity,
  storeAffineBatch,
  type Jacobian,
} from './jacobian';

export interface FixedBaseTable {
  readonly window: number;
  readonly windows: number;
  /** Entry (j, d) at j·2^(w-1) + d - 1, LIMBS limbs each. */
  readonly xs: Int32Array;
  readonly ys: Int32Array;
}

/** Builds the table for the affine point (x, y); about 2^(w-1)·(256/w) mixed additions. */
export function buildFixedBaseTable(x: bigint, y: bigint, window: number): FixedBaseTable {
  const rowSize = 1 << (window - 1);
  const windows = Math.ceil(256 / window) + 1; // + 1 for the carry out of the top digit
  const xs = new Int32Array(windows * rowSize * LIMBS);
  const ys = new Int32Array(windows * rowSize * LIMBS);
  const row = Array.from({ length: rowSize + 1 }, newPoint);
  const bx = feFromBigInt(x);
  const by = feFromBigInt(y);
  for (let j = 0; j < windows; j++) {
    setAffine(row[0], bx, by);
    for (let d = 1; d < rowSize; d++) addAffine(row[d], row[d - 1], bx, by);
    if (j === windows - 1) {
      storeAffineBatch(row.slice(0, rowSize), xs, ys, j * rowSize);
      break;
    }
    // 2^(w-1)·B doubled is the next window's base, and lands in that row's first slot.
    double(row[rowSize], row[rowSize - 1]);
    storeAffineBatch(row, xs, ys, j * rowSize);
    loadAffine(bx, by, xs, ys, (j + 1) * rowSize);
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

const tx = fe();
const ty = fe();

/** acc += k·P from P's table. Zero digits are skipped (public scalars only). */
export function addFixedMultiple(acc: Jacobian, table: FixedBaseTable, k: bigint): void {
  const digits = signedDigits(k, table.window, table.windows);
  const rowSize = 1 << (table.window - 1);
  for (let j = 0; j < digits.length; j++) {
    const d = digits[j];
    if (d === 0) continue;
    loadAffine(tx, ty, table.xs, table.ys, j * rowSize + (d > 0 ? d : -d) - 1);
    if (d < 0) neg(ty, ty);
    addAffine(acc, acc, tx, ty);
  }
}

/**
 * o = k·P from P's table for a secret k: one addition for every window, a zero digit adding into
 * a throw-away accumulator, so the count of additions does not depend on k. (Branches and table
 * indices still do; this only avoids the grossest leak, as noble's fake additions do.)
 */
export function multiplyFixedUniform(o: Jacobian, table: FixedBaseTable, k: bigint): void {
  const digits = signedDigits(k, table.window, table.windows);
  const rowSize = 1 << (table.window - 1);
  const dummy = newPoint();
  setInfinity(o);
  loadAffine(tx, ty, table.xs, table.ys, 0);
  setAffine(dummy, tx, ty);
  for (let j = 0; j < digits.length; j++) {
    const d = digits[j];
    loadAffine(tx, ty, table.xs, table.ys, j * rowSize + (d > 0 ? d : d < 0 ? -d : 1) - 1);
    if (d < 0) neg(ty, ty);
    if (d === 0) addAffine(dummy, dummy, tx, ty);
    else addAffine(o, o, tx, ty);
  }
}

let gTable: FixedBaseTable | null = null;

/** The table of G (w = 8: 33 rows of 128 points, 372 KB), built on first use. */
export function baseTable(): FixedBaseTable {
  gTable ??= buildFixedBaseTable(SM2_GX, SM2_GY, BASE_WINDOW);
  return gTable;
}
