// decodeKeyPoint (limb field, used by verify) accepts exactly the keys decodePublicKey (BigInt)
// accepts, and reads the same point.
import fc from 'fast-check';
import { Field } from '@noble/curves/abstract/modular';
import { SM2_B, SM2_N, SM2_P } from '../../src/sm2/curve';
import { bigIntTo32Bytes, concatBytes } from '../../src/sm2/bytes';
import { feToBigInt } from '../../src/sm2/field';
import { decodeKeyPoint } from '../../src/sm2/key-point';
import { decodePublicKey, generatePrivateKey, publicKeyFromPrivateKey } from '../../src/sm2/keys';

function same(bytes: Uint8Array): void {
  const want = decodePublicKey(bytes);
  const got = decodeKeyPoint(bytes);
  if (want === null) {
    expect(got).toBeNull();
    return;
  }
  expect(got).not.toBeNull();
  expect({ x: feToBigInt(got!.x), y: feToBigInt(got!.y) }).toEqual(want);
  expect(Array.from(got!.xy)).toEqual(Array.from(bytes.subarray(bytes.length - 64)));
}

test('valid keys, 64 and 65 bytes long, and every single-bit corruption of one', () => {
  const key = publicKeyFromPrivateKey(generatePrivateKey());
  same(key);
  same(concatBytes(Uint8Array.of(4), key));
  same(concatBytes(Uint8Array.of(3), key));
  same(key.subarray(1));
  for (let bit = 0; bit < 512; bit++) {
    const bad = key.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    same(bad);
  }
});

test('coordinates at and above p are refused, as by the BigInt decoder', () => {
  const key = publicKeyFromPrivateKey(generatePrivateKey());
  const y = key.subarray(32);
  for (const x of [SM2_P, SM2_P + 1n, (1n << 256n) - 1n, SM2_P - 1n, 0n]) same(concatBytes(bigIntTo32Bytes(x), y));
  // A point with a small x, written with x + p (and y + p) instead: same residues, refused.
  const Fp = Field(SM2_P);
  let x = 0n;
  let root: bigint | undefined;
  for (; root === undefined; x++) {
    try {
      root = Fp.sqrt(Fp.add(Fp.sub(Fp.pow(x, 3n), 3n * x), SM2_B));
    } catch {
      root = undefined;
    }
  }
  x--;
  expect(x < 2n ** 256n - SM2_P).toBe(true);
  const point = concatBytes(bigIntTo32Bytes(x), bigIntTo32Bytes(root));
  same(point);
  expect(decodeKeyPoint(point)).not.toBeNull();
  same(concatBytes(bigIntTo32Bytes(x + SM2_P), bigIntTo32Bytes(root)));
  expect(decodeKeyPoint(concatBytes(bigIntTo32Bytes(x + SM2_P), bigIntTo32Bytes(root)))).toBeNull();
});

test('random keys and random bytes (almost never on the curve)', () => {
  const validKey = fc
    .bigInt({ min: 1n, max: SM2_N - 2n }) // private keys lie in [1, n-2]
    .map((k) => publicKeyFromPrivateKey(bigIntTo32Bytes(k)));
  fc.assert(
    fc.property(fc.oneof(validKey, fc.uint8Array({ minLength: 64, maxLength: 64 })), (bytes) => same(bytes)),
    { numRuns: 500 },
  );
});
