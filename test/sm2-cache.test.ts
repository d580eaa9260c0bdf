// The verification-table cache must never change an answer, only how fast it comes.
import { Point, SM2_N } from '../src/sm2/curve';
import { addFixedMultiple, buildFixedBaseTable, multiplyFixedUniform, type Jacobian } from '../src/sm2/jacobian';
import {
  clearKeyTableCache,
  configureKeyTableCache,
  KEY_TABLE_WINDOW,
  keyTableCacheStats,
} from '../src/sm2/key-table-cache';
import { bigIntTo32Bytes } from '../src/sm2/bytes';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Sign, sm2Verify, sm2VerifyDigest } from '../src/sm2';
import { invert } from '@noble/curves/abstract/modular';
import { invertMod, SM2_P } from '../src/sm2/curve';
import { smCryptoOracle } from './helpers/oracles';

function affine([X, Y, Z]: Jacobian): { x: bigint; y: bigint } | null {
  if (Z === 0n) return null;
  const zi = invert(Z, SM2_P);
  return { x: (X * zi * zi) % SM2_P, y: (((Y * zi * zi) % SM2_P) * zi) % SM2_P };
}

const message = new TextEncoder().encode('block header 42');

function keyPair() {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyFromPrivateKey(privateKey) };
}

/** A valid signature and a few that must fail, each with the answer noble-independent sm-crypto gives. */
function cases(privateKey: Uint8Array, publicKey: Uint8Array) {
  const good = sm2Sign(privateKey, message, { publicKey });
  const flipped = good.slice();
  flipped[63] ^= 1;
  const rZero = good.slice();
  rZero.fill(0, 0, 32);
  const sIsN = good.slice();
  sIsN.set(bigIntTo32Bytes(SM2_N), 32);
  // r + s = n makes t = 0.
  const r = BigInt(`0x${Buffer.from(good.subarray(0, 32)).toString('hex')}`);
  const tZero = good.slice();
  tZero.set(bigIntTo32Bytes(SM2_N - r), 32);
  return [good, flipped, rZero, sIsN, tZero];
}

afterEach(() => configureKeyTableCache({ capacity: 64 }));

test('fixed-window multiplication matches noble for edge and random scalars', () => {
  const Q = Point.BASE.multiply(0xabcdef123456789n).toAffine();
  const table = buildFixedBaseTable(Q.x, Q.y, KEY_TABLE_WINDOW);
  const scalars = [1n, 2n, 31n, 32n, 33n, 63n, SM2_N - 1n, SM2_N - 2n, (SM2_N - 1n) / 2n, 0x8000000000000000n];
  for (let i = 0; i < 10; i++) scalars.push(BigInt(`0x${Buffer.from(generatePrivateKey()).toString('hex')}`));
  for (const k of scalars) {
    const want = Point.fromAffine(Q).multiply(k).toAffine();
    expect(affine(addFixedMultiple([0n, 1n, 0n], table, k))).toEqual(want);
    expect(affine(multiplyFixedUniform(table, k))).toEqual(want);
  }
});

test('cached and uncached verification give the same answers, and sm-crypto agrees', () => {
  const keys = [keyPair(), keyPair()];
  const expected = keys.map(({ privateKey, publicKey }) =>
    cases(privateKey, publicKey).map((sig) => ({ sig, ok: smCryptoOracle.verify(publicKey, message, sig) })),
  );
  expect(expected.map((list) => list.map(({ ok }) => ok))).toEqual([
    [true, false, false, false, false],
    [true, false, false, false, false],
  ]);

  configureKeyTableCache({ capacity: 0 });
  const uncached = keys.map(({ publicKey }, i) => expected[i].map(({ sig }) => sm2Verify(publicKey, message, sig)));
  expect(keyTableCacheStats().builds).toBe(0);

  configureKeyTableCache({ capacity: 64 });
  for (let round = 0; round < 3; round++) {
    const cached = keys.map(({ publicKey }, i) => expected[i].map(({ sig }) => sm2Verify(publicKey, message, sig)));
    expect(cached).toEqual(uncached);
  }
  const stats = keyTableCacheStats();
  expect(stats.builds).toBe(2);
  // r or s out of range is rejected before the cache is consulted: 2 of 5 cases reach it.
  expect(stats.hits).toBe(2 * 2 * 3 - 2 - 2);
});

test('a wrong signature after a cached right one still fails', () => {
  const { privateKey, publicKey } = keyPair();
  const good = sm2Sign(privateKey, message, { publicKey });
  for (let i = 0; i < 3; i++) expect(sm2Verify(publicKey, message, good)).toBe(true);
  expect(keyTableCacheStats().hits).toBeGreaterThan(0);
  const bad = good.slice();
  bad[5] ^= 0x40;
  expect(sm2Verify(publicKey, message, bad)).toBe(false);
  expect(sm2Verify(publicKey, new TextEncoder().encode('block header 43'), good)).toBe(false);
  // Another key's table must not answer for this one.
  const other = keyPair();
  for (let i = 0; i < 3; i++) expect(sm2Verify(other.publicKey, message, good)).toBe(false);
  expect(sm2Verify(publicKey, message, good)).toBe(true);
});

test('the cache holds at most `capacity` tables, evicting the least recently used', () => {
  configureKeyTableCache({ capacity: 2 });
  const pairs = Array.from({ length: 4 }, keyPair);
  const digest = new Uint8Array(32).fill(9);
  const sigs = pairs.map(({ privateKey, publicKey }) => sm2Sign(privateKey, message, { publicKey }));
  for (const [i, { publicKey }] of pairs.entries()) {
    for (let j = 0; j < 2; j++) expect(sm2Verify(publicKey, message, sigs[i])).toBe(true);
    expect(keyTableCacheStats().tables).toBeLessThanOrEqual(2);
  }
  expect(keyTableCacheStats()).toMatchObject({ capacity: 2, tables: 2, builds: 4 });
  // The first key was evicted: seeing it again once more does not rebuild yet, twice does.
  sm2VerifyDigest(pairs[0].publicKey, digest, sigs[0]);
  expect(keyTableCacheStats().builds).toBe(4);
  sm2VerifyDigest(pairs[0].publicKey, digest, sigs[0]);
  expect(keyTableCacheStats().builds).toBe(5);
  clearKeyTableCache();
  expect(keyTableCacheStats().tables).toBe(0);
});

test('capacity must be a non-negative integer', () => {
  expect(() => configureKeyTableCache({ capacity: -1 })).toThrow(RangeError);
  expect(() => configureKeyTableCache({ capacity: 1.5 })).toThrow(RangeError);
});

test('a key array overwritten with another key signs with the new key, not a cached inverse', () => {
  const first = keyPair();
  const second = keyPair();
  const key = first.privateKey.slice();
  const a = sm2Sign(key, message, { publicKey: first.publicKey });
  key.set(second.privateKey);
  const b = sm2Sign(key, message, { publicKey: second.publicKey });
  expect(smCryptoOracle.verify(first.publicKey, message, a)).toBe(true);
  expect(smCryptoOracle.verify(second.publicKey, message, b)).toBe(true);
  expect(smCryptoOracle.verify(first.publicKey, message, b)).toBe(false);
});

test('invertMod agrees with noble and refuses 0', () => {
  for (let i = 0; i < 20; i++) {
    const a = BigInt(`0x${Buffer.from(generatePrivateKey()).toString('hex')}`);
    expect(invertMod(a, SM2_N)).toBe(invert(a, SM2_N));
    expect(invertMod(a % SM2_P, SM2_P)).toBe(invert(a % SM2_P, SM2_P));
  }
  expect(invertMod(1n, SM2_P)).toBe(1n);
  expect(() => invertMod(0n, SM2_N)).toThrow(RangeError);
});
