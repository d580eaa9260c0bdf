// sm2Verify / sm2VerifyDigest on Uint8Array subclasses that lie about themselves: the answer is
// the same boolean as for plain copies of the same bytes, never an exception.
import fc from 'fast-check';
import {
  generatePrivateKey,
  publicKeyFromPrivateKey,
  sm2Digest,
  sm2Sign,
  sm2Verify,
  sm2VerifyDigest,
} from '../../src/sm2';
import { smCryptoOracle } from '../helpers/oracles';

const privateKey = generatePrivateKey();
const publicKey = publicKeyFromPrivateKey(privateKey);

/** Subclasses each overriding something that plain-Uint8Array code might read. */
const LIARS: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  subarray: (bytes) =>
    new (class extends Uint8Array {
      override subarray(): Uint8Array<ArrayBuffer> {
        return new Uint8Array(0);
      }
    })(bytes),
  'subarray returning garbage': (bytes) =>
    new (class extends Uint8Array {
      override subarray(): Uint8Array<ArrayBuffer> {
        return ['zz'] as unknown as Uint8Array<ArrayBuffer>;
      }
    })(bytes),
  length: (bytes) =>
    new (class extends Uint8Array {
      override get length(): number {
        return 7;
      }
    })(bytes),
  'length on the instance': (bytes) => Object.defineProperty(Uint8Array.from(bytes), 'length', { value: 64 }),
  'byteLength, byteOffset and buffer': (bytes) =>
    new (class extends Uint8Array {
      override get byteLength(): number {
        return 1;
      }
      override get byteOffset(): number {
        return 3;
      }
      override get buffer(): ArrayBuffer {
        return new ArrayBuffer(2);
      }
    })(bytes),
  'slice and iterator': (bytes) =>
    new (class extends Uint8Array {
      override slice(): Uint8Array<ArrayBuffer> {
        throw new Error('slice called');
      }
      override [Symbol.iterator](): ArrayIterator<number> {
        throw new Error('iterator called');
      }
    })(bytes),
  'an offset view into a larger buffer': (bytes) => {
    const big = new Uint8Array(bytes.length + 9).fill(0xee);
    big.set(bytes, 5);
    return new (class extends Uint8Array {
      override get length(): number {
        return big.length;
      }
    })(big.buffer, 5, bytes.length);
  },
  'a Buffer': (bytes) => Buffer.from(bytes),
};
const liar = fc.constantFrom(...Object.keys(LIARS));
const disguise = (name: string, bytes: Uint8Array) => (LIARS[name] as (b: Uint8Array) => Uint8Array)(bytes);

describe('sm2Verify on Uint8Array subclasses', () => {
  test('property: the same boolean as for plain copies, for good and tampered signatures', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.option(fc.nat({ max: 63 }), { nil: undefined }),
        liar,
        liar,
        liar,
        liar,
        (message, flip, asKey, asMessage, asSignature, asId) => {
          const userId = Uint8Array.of(0x61, 0x62);
          const signature = sm2Sign(privateKey, message, { userId });
          if (flip !== undefined) signature[flip] ^= 1;
          const expected = sm2Verify(publicKey, message, signature, { userId });
          expect(expected).toBe(flip === undefined);
          const got = sm2Verify(
            disguise(asKey, publicKey),
            disguise(asMessage, message),
            disguise(asSignature, signature),
            { userId: disguise(asId, userId) },
          );
          expect(got).toBe(expected);
          const digest = sm2Digest(publicKey, message, userId);
          expect(
            sm2VerifyDigest(disguise(asKey, publicKey), disguise(asMessage, digest), disguise(asSignature, signature)),
          ).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('agrees with sm-crypto on a signature handed over in a lying subclass', () => {
    const message = new TextEncoder().encode('checked by the oracle');
    const signature = sm2Sign(privateKey, message);
    expect(smCryptoOracle.verify(publicKey, message, signature)).toBe(true);
    for (const name of Object.keys(LIARS)) {
      expect(sm2Verify(disguise(name, publicKey), disguise(name, message), disguise(name, signature))).toBe(true);
    }
  });

  test('a detached buffer reads as no bytes: false, not an exception', () => {
    const signature = sm2Sign(privateKey, new Uint8Array(0));
    const detached = Uint8Array.from(signature);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(sm2Verify(publicKey, new Uint8Array(0), signature)).toBe(true);
    expect(sm2Verify(publicKey, new Uint8Array(0), detached)).toBe(false);
  });

  test('something that only pretends to be a Uint8Array is still a TypeError', () => {
    const fake = Object.create(Uint8Array.prototype) as Uint8Array;
    expect(() => sm2Verify(publicKey, fake, new Uint8Array(64))).toThrow(TypeError);
  });
});
