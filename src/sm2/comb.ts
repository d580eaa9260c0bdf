// Comb tables (Lim–Lee) for the public keys the cache keeps. With h teeth spaced d = ⌈256/h⌉
// bits apart, entry b (1 <= b < 2^h) is Σ 2^(i·d)·P over the bits i of b, and k·P is d - 1
// doublings and at most d mixed additions. Building one costs (h - 1)·d doublings, 2^h - h - 1
// additions and two inversions; for h = 6 that is about one verification without a table, and a
// verification with the table then takes less than half as long.
import { LIMBS, fe, type Fe } from './field';
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

export interface CombTable {
  readonly teeth: number;
  readonly spacing: number;
  /** Entry b (1 <= b < 2^teeth) at b - 1, LIMBS limbs each. */
  readonly xs: Int32Array;
  readonly ys: Int32Array;
}

/** Bytes of limb storage in a table with `teeth` teeth (the two arrays; objects add ~0.3 KB). */
export function combTableBytes(teeth: number): number {
  return 2 * ((1 << teeth) - 1) * LIMBS * Int32Array.BYTES_PER_ELEMENT;
}

const points: Jacobian[] = [];

/** n scratch points, reused from one build to the next. */
function pool(n: number): Jacobian[] {
  while (points.length < n) points.push(newPoint());
  return points.slice(0, n);
}

const tx = fe();
const ty = fe();

/** The comb table of the affine point (x, y). */
export function buildCombTable(x: Fe, y: Fe, teeth: number): CombTable {
  const spacing = Math.ceil(256 / teeth);
  const size = (1 << teeth) - 1;
  const xs = new Int32Array(size * LIMBS);
  const ys = new Int32Array(size * LIMBS);
  // The teeth 2^(i·d)·P, made affine with one inversion.
  const teethPoints = pool(teeth);
  setAffine(teethPoints[0], x, y);
  for (let i = 1; i < teeth; i++) {
    double(teethPoints[i], teethPoints[i - 1]);
    for (let j = 1; j < spacing; j++) double(teethPoints[i], teethPoints[i]);
  }
  const toothX = new Int32Array(teeth * LIMBS);
  const toothY = new Int32Array(teeth * LIMBS);
  storeAffineBatch(teethPoints, toothX, toothY, 0);
  // Entry b = entry (b without its lowest bit) + the tooth of that bit; then all made affine.
  const entries = pool(size);
  for (let b = 1; b <= size; b++) {
    const low = 31 - Math.clz32(b & -b);
    loadAffine(tx, ty, toothX, toothY, low);
    const rest = b & (b - 1);
    if (rest === 0) setAffine(entries[b - 1], tx, ty);
    else addAffine(entries[b - 1], entries[rest - 1], tx, ty);
  }
  storeAffineBatch(entries, xs, ys, 0);
  return { teeth, spacing, xs, ys };
}

/** o = k·P from P's comb table, for 0 <= k < 2^(teeth·spacing). Public scalars only. */
export function combMultiply(o: Jacobian, table: CombTable, k: bigint): void {
  const { teeth, spacing } = table;
  const bits = k.toString(2).padStart(teeth * spacing, '0');
  const top = bits.length - 1; // bit i·d + c of k is bits[top - i·d - c]
  setInfinity(o);
  for (let c = spacing - 1; c >= 0; c--) {
    double(o, o);
    let index = 0;
    for (let i = teeth - 1; i >= 0; i--) index = (index << 1) | (bits.charCodeAt(top - i * spacing - c) - 48);
    if (index === 0) continue;
    loadAffine(tx, ty, table.xs, table.ys, index - 1);
    addAffine(o, o, tx, ty);
  }
}
