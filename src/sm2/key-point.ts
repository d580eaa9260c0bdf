// A public key as verification needs it: x and y in the limb field, checked to be on the curve,
// and the 64 bytes x||y that name it. Accepts exactly what keys.ts's decodePublicKey accepts.
import { SM2_B } from './curve';
import { addScaled, equal, fe, feFromBigInt, feFromBytes, mul, sqr, add, type Fe } from './field';

export interface KeyPoint {
  /** x||y, a view into the caller's bytes. */
  readonly xy: Uint8Array;
  readonly x: Fe;
  readonly y: Fe;
}

const B = feFromBigInt(SM2_B);
const lhs = fe();
const rhs = fe();

/** y² = x³ - 3x + b. */
function onCurve(x: Fe, y: Fe): boolean {
  sqr(lhs, y);
  sqr(rhs, x);
  mul(rhs, rhs, x);
  addScaled(rhs, rhs, x, -3);
  add(rhs, rhs, B);
  return equal(lhs, rhs);
}

/** Raw x||y or 04||x||y → the key point, or null if the bytes are no point on the curve. */
export function decodeKeyPoint(publicKey: Uint8Array): KeyPoint | null {
  let offset: number;
  if (publicKey.length === 64) offset = 0;
  else if (publicKey.length === 65 && publicKey[0] === 0x04) offset = 1;
  else return null;
  const x = feFromBytes(publicKey, offset);
  const y = feFromBytes(publicKey, offset + 32);
  if (x === null || y === null || !onCurve(x, y)) return null;
  return { xy: publicKey.subarray(offset, offset + 64), x, y };
}
