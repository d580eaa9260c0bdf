// The key-table cache must never change an answer, only how fast it comes; and it must keep
// tables for the keys that come back, within its memory and its build budget.
import fc from 'fast-check';
import { SM2_N, SM2_P, invertMod } from '../../src/sm2/curve';
import { combTableBytes } from '../../src/sm2/comb';
import {
  KEY_TABLE_TEETH,
  clearKeyTableCache,
  configureKeyTableCache,
  keyTableCacheStats,
} from '../../src/sm2/key-table-cache';
import { bigIntTo32Bytes } from '../../src/sm2/bytes';
import {
  generatePrivateKey,
  publicKeyFromPrivateKey,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
} from '../../src/sm2';
import { invert } from '@noble/curves/abstract/modular';
import { smCryptoOracle } from '../helpers/oracles';

const message = new TextEncoder().encode('block header 42');
const digest = new Uint8Array(32).fill(9);

function keyPair() {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyFromPrivateKey(privateKey) };
}

/** A signature over `digest` by each of n fresh keys. */
function signers(n: number) {
  return Array.from({ length: n }, () => {
    const { privateKey, publicKey } = keyPair();
    return { publicKey, signature: sm2SignDigest(privateKey, digest) };
  });
}

const DEFAULT_CAPACITY = keyTableCacheStats().capacity;
afterEach(() => configureKeyTableCache({ capacity: DEFAULT_CAPACITY }));

describe('answers never depend on the cache', () => {
  const pool = Array.from({ length: 5 }, keyPair);
  const messages = ['', 'a', 'block header 42', 'x'.repeat(200)].map((m) => new TextEncoder().encode(m));
  /** Ways to spoil a signature; the first leaves it alone. */
  const spoilers: Array<(sig: Uint8Array, r: bigint) => Uint8Array> = [
    (sig) => sig,
    (sig) => sig.map((b, i) => (i === 63 ? b ^ 1 : b)),
    (sig) => sig.map((b, i) => (i === 7 ? b ^ 0x80 : b)),
    (sig) => sig.map((b, i) => (i < 32 ? 0 : b)), // r = 0
    (sig) => {
      const out = sig.slice();
      out.set(bigIntTo32Bytes(SM2_N), 32); // s = n
      return out;
    },
    (sig, r) => {
      const out = sig.slice();
      out.set(bigIntTo32Bytes(SM2_N - r), 32); // t = r + s = n
      return out;
    },
    (sig) => {
      const out = sig.slice();
      out.set(sig.subarray(32), 0); // r := s
      return out;
    },
  ];
  // Mostly signatures that verify (so that tables do the work), the rest spoilt one way or another.
  const item = fc.record({
    signer: fc.nat(pool.length - 1),
    message: fc.nat(messages.length - 1),
    spoil: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: spoilers.length - 1 })),
    verifier: fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, fc.nat(pool.length - 1)), // -1: the signer
    otherMessage: fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, fc.nat(messages.length - 1)),
  });

  test('cache off, tiny and large, over rounds in which tables get built, hit and evicted; sm-crypto agrees', () => {
    let tablesUsed = 0;
    let valid = 0;
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), (items) => {
        const list = items.map((it) => {
          const { privateKey, publicKey } = pool[it.signer];
          const sig = sm2Sign(privateKey, messages[it.message], { publicKey });
          const r = BigInt(`0x${Buffer.from(sig.subarray(0, 32)).toString('hex')}`);
          return {
            publicKey: pool[it.verifier < 0 ? it.signer : it.verifier].publicKey,
            message: messages[it.otherMessage < 0 ? it.message : it.otherMessage],
            signature: spoilers[it.spoil](sig, r),
          };
        });
        const oracle = list.map(({ publicKey, message: m, signature }) =>
          smCryptoOracle.verify(publicKey, m, signature),
        );
        valid += oracle.filter(Boolean).length;
        for (const capacity of [0, 1, 2, 1024]) {
          configureKeyTableCache({ capacity });
          for (let round = 0; round < 3; round++) {
            const got = list.map(({ publicKey, message: m, signature }) => sm2Verify(publicKey, m, signature));
            expect(got).toEqual(oracle);
          }
          if (capacity > 0) tablesUsed += keyTableCacheStats().hits;
        }
      }),
      { numRuns: 15 },
    );
    expect(tablesUsed).toBeGreaterThan(0);
    expect(valid).toBeGreaterThan(15);
  });

  test('a wrong signature after a cached right one still fails, and no table answers for another key', () => {
    const { privateKey, publicKey } = keyPair();
    const good = sm2Sign(privateKey, message, { publicKey });
    for (let i = 0; i < 3; i++) expect(sm2Verify(publicKey, message, good)).toBe(true);
    expect(keyTableCacheStats().hits).toBeGreaterThan(0);
    const bad = good.slice();
    bad[5] ^= 0x40;
    expect(sm2Verify(publicKey, message, bad)).toBe(false);
    expect(sm2Verify(publicKey, new TextEncoder().encode('block header 43'), good)).toBe(false);
    const other = keyPair();
    for (let i = 0; i < 3; i++) expect(sm2Verify(other.publicKey, message, good)).toBe(false);
    expect(sm2Verify(publicKey, message, good)).toBe(true);
    // The same point written 65 bytes long shares the table.
    expect(sm2Verify(Uint8Array.of(4, ...publicKey), message, good)).toBe(true);
  });
});

describe('admission and eviction', () => {
  test('a key gets a table on its second sighting, not its first', () => {
    configureKeyTableCache({ capacity: 8 });
    const [a] = signers(1);
    sm2VerifyDigest(a.publicKey, digest, a.signature);
    expect(keyTableCacheStats()).toMatchObject({ tables: 0, builds: 0, misses: 1 });
    sm2VerifyDigest(a.publicKey, digest, a.signature);
    expect(keyTableCacheStats()).toMatchObject({ tables: 1, builds: 1, misses: 2, hits: 0 });
    sm2VerifyDigest(a.publicKey, digest, a.signature);
    expect(keyTableCacheStats()).toMatchObject({ tables: 1, builds: 1, hits: 1 });
  });

  test('signatures rejected before the key is needed are not counted', () => {
    configureKeyTableCache({ capacity: 8 });
    const [a] = signers(1);
    const zero = new Uint8Array(64);
    for (let i = 0; i < 5; i++) expect(sm2VerifyDigest(a.publicKey, digest, zero)).toBe(false);
    expect(keyTableCacheStats()).toMatchObject({ hits: 0, misses: 0, builds: 0 });
  });

  test('when full, a newcomer replaces the least recently used table only if it is seen more often', () => {
    configureKeyTableCache({ capacity: 2 });
    const [a, b, c] = signers(3);
    const see = (k: typeof a, times: number) => {
      for (let i = 0; i < times; i++) expect(sm2VerifyDigest(k.publicKey, digest, k.signature)).toBe(true);
    };
    see(a, 2);
    see(b, 2);
    expect(keyTableCacheStats()).toMatchObject({ tables: 2, builds: 2 });
    see(c, 2); // as often as a, the least recently used: no table
    expect(keyTableCacheStats()).toMatchObject({ tables: 2, builds: 2, evictions: 0 });
    see(c, 1); // now more often: replaces a
    expect(keyTableCacheStats()).toMatchObject({ tables: 2, builds: 3, evictions: 1 });
    const hits = keyTableCacheStats().hits;
    see(b, 1);
    see(c, 1);
    expect(keyTableCacheStats().hits).toBe(hits + 2);
    see(a, 1); // a lost its table
    expect(keyTableCacheStats().hits).toBe(hits + 2);
  });

  test('a stream of keys that never come back builds within the budget', () => {
    configureKeyTableCache({ capacity: 64 });
    const keys = signers(30);
    // Each key twice in a row: each earns a table by count, but there is no hit to pay for it.
    for (const k of keys) {
      for (let i = 0; i < 2; i++) expect(sm2VerifyDigest(k.publicKey, digest, k.signature)).toBe(true);
    }
    const { builds, deferred } = keyTableCacheStats();
    expect(builds).toBe(4); // a burst of new keys: the starting credit pays for four builds, then too little
    expect(builds + deferred).toBe(keys.length);
  });

  test('hits pay for more builds', () => {
    configureKeyTableCache({ capacity: 64 });
    const keys = signers(12);
    for (const k of keys) {
      for (let i = 0; i < 8; i++) expect(sm2VerifyDigest(k.publicKey, digest, k.signature)).toBe(true);
    }
    // Each table built early gets hits, and those fund the later keys' tables.
    expect(keyTableCacheStats().builds).toBe(keys.length);
  });

  test('memory: at most capacity tables of known size', () => {
    configureKeyTableCache({ capacity: 3 });
    const keys = signers(5);
    for (let round = 0; round < 4; round++) {
      for (const k of keys) sm2VerifyDigest(k.publicKey, digest, k.signature);
      const stats = keyTableCacheStats();
      expect(stats.tables).toBeLessThanOrEqual(3);
      expect(stats.tableBytes).toBe(stats.tables * 5544);
    }
    expect(combTableBytes(KEY_TABLE_TEETH)).toBe(5544);
    clearKeyTableCache();
    expect(keyTableCacheStats()).toMatchObject({ tables: 0, hits: 0, builds: 0 });
  });

  test('capacity 0 keeps nothing; capacity must be a non-negative integer', () => {
    configureKeyTableCache({ capacity: 0 });
    const [a] = signers(1);
    for (let i = 0; i < 4; i++) sm2VerifyDigest(a.publicKey, digest, a.signature);
    expect(keyTableCacheStats()).toMatchObject({ tables: 0, builds: 0, hits: 0 });
    expect(() => configureKeyTableCache({ capacity: -1 })).toThrow(RangeError);
    expect(() => configureKeyTableCache({ capacity: 1.5 })).toThrow(RangeError);
  });
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
