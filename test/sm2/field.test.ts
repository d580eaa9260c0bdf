// The limb field of src/sm2/field.ts against BigInt arithmetic mod p, at random and at the edges
// of the bounds its callers promise (loose limbs, values beyond p, negative values).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { SM2_P } from '../../src/sm2/curve';
import {
  LIMBS,
  add,
  addScaled,
  canonical,
  equal,
  fe,
  feFromBigInt,
  feToBigInt,
  invert,
  isZero,
  mul,
  normalize,
  scale,
  sqr,
  sub,
  type Fe,
} from '../../src/sm2/field';
import { invertMod } from '../../src/sm2/curve';

const P = SM2_P;
const R = 1n << 264n;
const mod = (x: bigint) => ((x % P) + P) % P;
const element = fc.bigInt(0n, P - 1n);

/** The integer an element's limbs stand for (Montgomery form: x·R mod p is held). */
function limbValue(a: Fe): bigint {
  let v = 0n;
  for (let i = LIMBS - 1; i >= 0; i--) v = v * (1n << 24n) + BigInt(a[i]);
  return v;
}
const decoded = (a: Fe) => mod(limbValue(a) * invertMod(R % P, P));

function maxLimb(a: Fe): number {
  let m = 0;
  for (let i = 0; i < LIMBS - 1; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Normalised per field.ts: limbs 0..9 within 2^23 + 64, |value| < p. */
function expectNormalised(a: Fe): void {
  expect(maxLimb(a)).toBeLessThanOrEqual(2 ** 23 + 64);
  const v = limbValue(a);
  expect(v < P && v > -P).toBe(true);
  for (let i = 0; i < LIMBS; i++) expect(Number.isInteger(a[i])).toBe(true);
}

/**
 * An element for x whose limbs are as loose as `growth` allows (each limb pushed to about
 * growth·2^23 in magnitude, the carries put back elsewhere) and whose value is x·R + j·p.
 */
function loose(x: bigint, growth: number, j: bigint): Fe {
  const target = mod(x * R) + j * P;
  const out = fe();
  let rest = target;
  const cap = BigInt(Math.floor(growth * 2 ** 23));
  for (let i = 0; i < LIMBS - 1; i++) {
    // A limb in [-cap, cap] congruent to rest mod 2^24, as far out as allowed, alternating in sign.
    const B = 1n << 24n;
    let limb = ((rest % B) + B) % B;
    if (i % 2 === 0) {
      while (limb + B <= cap) limb += B;
      if (limb > cap) limb -= B;
    } else {
      limb -= B;
      while (limb - B >= -cap) limb -= B;
      if (limb < -cap) limb += B;
    }
    out[i] = Number(limb);
    rest = (rest - limb) / (1n << 24n);
  }
  out[LIMBS - 1] = Number(rest);
  expect(limbValue(out)).toBe(target);
  return out;
}

test('field-mul.ts is what its generator writes', () => {
  const root = join(__dirname, '..', '..');
  const generated = execFileSync(process.execPath, [join(root, 'src/sm2/field-mul.gen.mjs')]);
  const formatted = execFileSync(
    process.execPath,
    [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--stdin-filepath', 'src/sm2/field-mul.ts'],
    { cwd: root, input: generated },
  ).toString();
  expect(readFileSync(join(root, 'src/sm2/field-mul.ts'), 'utf8')).toBe(formatted);
});

test('round trip and constants', () => {
  for (const x of [0n, 1n, 2n, P - 1n, P - 2n, 1n << 255n, (1n << 256n) - 1n - P]) {
    const a = feFromBigInt(x);
    expectNormalised(a);
    expect(feToBigInt(a)).toBe(mod(x));
    expect(decoded(a)).toBe(mod(x));
  }
});

test('products, sums and differences agree with BigInt mod p', () => {
  fc.assert(
    fc.property(element, element, fc.integer({ min: -8, max: 8 }), (x, y, k) => {
      const a = feFromBigInt(x);
      const b = feFromBigInt(y);
      const o = fe();
      mul(o, a, b);
      expectNormalised(o);
      expect(feToBigInt(o)).toBe(mod(x * y));
      sqr(o, a);
      expectNormalised(o);
      expect(feToBigInt(o)).toBe(mod(x * x));
      add(o, a, b);
      expect(feToBigInt(o)).toBe(mod(x + y));
      sub(o, a, b);
      expect(feToBigInt(o)).toBe(mod(x - y));
      addScaled(o, a, b, k);
      expect(feToBigInt(o)).toBe(mod(x + BigInt(k) * y));
      scale(o, a, k);
      expect(feToBigInt(o)).toBe(mod(BigInt(k) * x));
      normalize(o, o);
      expectNormalised(o);
      expect(feToBigInt(o)).toBe(mod(BigInt(k) * x));
      expect(equal(a, b)).toBe(x === y);
      expect(equal(o, o)).toBe(true);
    }),
    { numRuns: 300 },
  );
});

test('products stay exact at the limits callers keep to: growth product 8, size product 2^7·p²', () => {
  fc.assert(
    fc.property(
      element,
      element,
      fc.constantFrom([1, 8], [2, 4], [4, 2], [8, 1], [2.8, 2.8]),
      fc.constantFrom([1n, 63n], [10n, 10n], [-10n, 10n], [-127n, 0n], [0n, -1n]),
      (x, y, [ga, gb], [ja, jb]) => {
        const a = loose(x, ga, ja);
        const b = loose(y, gb, jb);
        const o = fe();
        mul(o, a, b);
        expectNormalised(o);
        expect(decoded(o)).toBe(mod(x * y));
      },
    ),
    { numRuns: 200 },
  );
});

test('squares stay exact at the limits callers keep to: growth 2.8, size factors up to 10', () => {
  fc.assert(
    fc.property(element, fc.constantFrom(10n, -10n, 1n, 0n, -1n), (x, j) => {
      const a = loose(x, 2.8, j);
      const o = fe();
      sqr(o, a);
      expectNormalised(o);
      expect(decoded(o)).toBe(mod(x * x));
    }),
    { numRuns: 200 },
  );
});

test('normalize and canonical accept loose limbs and values far from [0, p)', () => {
  fc.assert(
    fc.property(element, fc.constantFrom(1, 16, 64, 100), fc.bigInt(-2000n, 2000n), (x, growth, j) => {
      const a = loose(x, growth, j);
      const o = fe();
      normalize(o, a);
      expectNormalised(o);
      expect(decoded(o)).toBe(x);
      canonical(o, a);
      expect(limbValue(o)).toBe(mod(x * R));
      for (let i = 0; i < LIMBS; i++) expect(o[i] >= 0 && o[i] < 2 ** 24).toBe(true);
    }),
    { numRuns: 300 },
  );
});

test('isZero recognises every multiple of p it may be given, and nothing else', () => {
  for (let j = -127n; j <= 127n; j++) {
    for (const growth of [1, 4]) expect(isZero(loose(0n, growth, j))).toBe(true);
    // Neighbours of j·p, including ones the cheap residue test lets through.
    expect(isZero(loose(1n * invertMod(R % P, P), 1, j))).toBe(false);
    const plusOne = loose(0n, 1, j);
    plusOne[0] += 1;
    expect(isZero(plusOne)).toBe(false);
    const plusLimb = loose(0n, 1, j);
    plusLimb[3] += 1;
    expect(isZero(plusLimb)).toBe(false);
  }
  fc.assert(
    fc.property(fc.bigInt(1n, P - 1n), (x) => {
      expect(isZero(feFromBigInt(x))).toBe(false);
    }),
  );
});

test('invert gives a⁻¹ (and 0 for 0)', () => {
  fc.assert(
    fc.property(fc.bigInt(1n, P - 1n), (x) => {
      const o = fe();
      invert(o, feFromBigInt(x));
      expectNormalised(o);
      expect(feToBigInt(o)).toBe(invertMod(x, P));
    }),
    { numRuns: 50 },
  );
  const o = fe();
  invert(o, feFromBigInt(0n));
  expect(feToBigInt(o)).toBe(0n);
  invert(o, loose(3n, 4, -5n));
  expect(feToBigInt(o)).toBe(invertMod(3n, P));
});
