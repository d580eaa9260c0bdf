// Hedged nonces: k from the private key, the digest and fresh randomness (src/sm2/nonce.ts), so
// that a broken random source no longer gives the key away.
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { invertN, modN } from '../../src/sm2/curve';
import { bytesToBigInt, bytesToHex, hexToBytes } from '../../src/sm2/bytes';
import { hedgedNonces } from '../../src/sm2/nonce';
import { signDigestHedged } from '../../src/sm2/sign';
import {
  generatePrivateKey,
  publicKeyFromPrivateKey,
  sm2Digest,
  sm2Sign,
  sm2SignDigest,
  sm2SignDigestWithK,
  sm2Verify,
} from '../../src/sm2';
import { opensslOracle, smCryptoOracle } from '../helpers/oracles';

// randomBytes, as the library imports it, can be made to return the same bytes every time.
let mockBrokenRng = false;
jest.mock('node:crypto', () => {
  const actual = jest.requireActual('node:crypto');
  return { ...actual, randomBytes: (n: number) => (mockBrokenRng ? Buffer.alloc(n, 0x42) : actual.randomBytes(n)) };
});
afterEach(() => {
  mockBrokenRng = false;
});

const smCrypto = createRequire(__filename)('sm-crypto');
const text = (s: string) => new TextEncoder().encode(s);
const first = (it: Iterator<bigint>) => it.next().value as bigint;
const scalarOf = (bytes: Uint8Array) => bytesToBigInt(bytes);

/** The nonce behind an SM2 signature, given the private key: k = s(1 + d) + r·d mod n. */
function nonceOf(d: bigint, signature: Uint8Array): bigint {
  const r = scalarOf(signature.subarray(0, 32));
  const s = scalarOf(signature.subarray(32));
  return modN(s * (1n + d) + r * d);
}

/** What two signatures sharing one k would give away: d = (s2 - s1) / (s1 + r1 - s2 - r2). */
function keyFromSharedNonce(a: Uint8Array, b: Uint8Array): bigint {
  const [r1, s1, r2, s2] = [a.subarray(0, 32), a.subarray(32), b.subarray(0, 32), b.subarray(32)].map(scalarOf);
  return modN((s2 - s1) * invertN(modN(s1 + r1 - s2 - r2)));
}

describe('the generator is RFC 6979 when given no additional data', () => {
  // RFC 6979 A.2.5: ECDSA on P-256 with SHA-256.
  const q = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const x = 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n;
  const sha256 = (m: string) => new Uint8Array(createHash('sha256').update(m).digest());

  test('published k for "sample" and "test"', () => {
    const none = new Uint8Array(0);
    expect(first(hedgedNonces(x, sha256('sample'), none, 'sha256', q))).toBe(
      0xa6e3c57dd01abe90086538398355dd4c3b17aa873382b0f24d6129493d8aad60n,
    );
    expect(first(hedgedNonces(x, sha256('test'), none, 'sha256', q))).toBe(
      0xd16b6ae827f17175e040871a1c7ec3500192c4c92677336ec2537acaee0008e0n,
    );
  });

  test('candidates out of range are skipped as §3.2 step h.3 says', () => {
    // A reference written straight from the RFC, against a q that rejects about half of them.
    const smallQ = (1n << 255n) + 12345n;
    const h1 = sha256('sample');
    const extra = hexToBytes('00112233');
    const mac = (key: Uint8Array, ...parts: Uint8Array[]) => {
      const h = createHmac('sm3', key);
      parts.forEach((p) => h.update(p));
      return new Uint8Array(h.digest());
    };
    const octets = (n: bigint) => hexToBytes(n.toString(16).padStart(64, '0'));
    let V = new Uint8Array(32).fill(1);
    let K = new Uint8Array(32);
    const seed = [octets(x), octets(scalarOf(h1) % smallQ), extra];
    K = mac(K, V, Uint8Array.of(0), ...seed);
    V = mac(K, V);
    K = mac(K, V, Uint8Array.of(1), ...seed);
    V = mac(K, V);
    const want: bigint[] = [];
    let rejected = 0;
    while (want.length < 6) {
      V = mac(K, V);
      const k = scalarOf(V);
      if (k >= 1n && k < smallQ) want.push(k);
      else rejected++;
      K = mac(K, V, Uint8Array.of(0));
      V = mac(K, V);
    }
    expect(rejected).toBeGreaterThan(0);
    const it = hedgedNonces(x, h1, extra, 'sm3', smallQ);
    expect(want.map(() => first(it))).toEqual(want);
  });
});

test('HMAC-SM3 as OpenSSL computes it agrees with sm-crypto', () => {
  for (const [key, data] of [
    ['', ''],
    ['00', 'abc'],
    ['0123456789abcdef'.repeat(8), 'a'.repeat(200)], // a key longer than a block is hashed first
  ]) {
    const ours = createHmac('sm3', hexToBytes(key)).update(data).digest('hex');
    if (key !== '') expect(smCrypto.sm3(data, { key })).toBe(ours);
    expect(ours).toHaveLength(64);
  }
});

describe('signing with fixed entropy', () => {
  const privateKey = hexToBytes('3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8');
  const d = scalarOf(privateKey);
  const publicKey = publicKeyFromPrivateKey(privateKey);
  const e1 = sm2Digest(publicKey, text('message digest'));
  const e2 = sm2Digest(publicKey, text('message digesT'));
  const entropy = new Uint8Array(32).fill(7);

  test('the same inputs give the same signature, the first nonce of the generator', () => {
    const a = signDigestHedged(privateKey, e1, entropy);
    expect(signDigestHedged(privateKey, e1, entropy)).toEqual(a);
    const k = first(hedgedNonces(d, e1, entropy));
    expect(nonceOf(d, a)).toBe(k);
    expect(sm2SignDigestWithK(privateKey, e1, k)).toEqual(a);
  });

  test('another digest, key or entropy gives another k', () => {
    const k = nonceOf(d, signDigestHedged(privateKey, e1, entropy));
    expect(nonceOf(d, signDigestHedged(privateKey, e2, entropy))).not.toBe(k);
    const other = generatePrivateKey();
    expect(nonceOf(scalarOf(other), signDigestHedged(other, e1, entropy))).not.toBe(k);
    expect(nonceOf(d, signDigestHedged(privateKey, e1, new Uint8Array(32).fill(8)))).not.toBe(k);
    expect(nonceOf(d, signDigestHedged(privateKey, e1, new Uint8Array(0)))).not.toBe(k);
  });

  test('the digest must be 32 bytes', () => {
    expect(() => signDigestHedged(privateKey, e1.subarray(1), entropy)).toThrow(TypeError);
  });
});

describe('a random source that always returns the same bytes', () => {
  test('no longer reveals the key through two signatures', () => {
    mockBrokenRng = true;
    const privateKey = generatePrivateKey();
    const publicKey = publicKeyFromPrivateKey(privateKey);
    const d = scalarOf(privateKey);
    const a = sm2Sign(privateKey, text('pay 1 to alice'), { publicKey });
    const b = sm2Sign(privateKey, text('pay 1000 to mallory'), { publicKey });
    expect(nonceOf(d, a)).not.toBe(nonceOf(d, b));
    expect(keyFromSharedNonce(a, b)).not.toBe(d);
    // The same message twice is the same signature, which gives nothing away.
    expect(sm2Sign(privateKey, text('pay 1 to alice'), { publicKey })).toEqual(a);
    const e = sm2Digest(publicKey, text('a digest'));
    expect(sm2SignDigest(privateKey, e)).toEqual(sm2SignDigest(privateKey, e));
    for (const [m, sig] of [
      ['pay 1 to alice', a],
      ['pay 1000 to mallory', b],
    ] as const) {
      expect(sm2Verify(publicKey, text(m), sig)).toBe(true);
      expect(smCryptoOracle.verify(publicKey, text(m), sig)).toBe(true);
      expect(opensslOracle.verify(publicKey, text(m), sig)).toBe(true);
    }
  });

  test('(the recovery works when k is shared: the check above can fail)', () => {
    const privateKey = generatePrivateKey();
    const d = scalarOf(privateKey);
    const k = 0x1234567890abcdefn;
    const a = sm2SignDigestWithK(privateKey, new Uint8Array(32).fill(1), k);
    const b = sm2SignDigestWithK(privateKey, new Uint8Array(32).fill(2), k);
    expect(keyFromSharedNonce(a, b)).toBe(d);
  });
});

// That OpenSSL and sm-crypto accept sm2Sign's signatures is checked in crosscheck.test.ts.
test('with the real random source, signatures of one message differ and verify', () => {
  const privateKey = generatePrivateKey();
  const publicKey = publicKeyFromPrivateKey(privateKey);
  const m = text('block 7');
  const sigs = Array.from({ length: 4 }, () => sm2Sign(privateKey, m, { publicKey }));
  expect(new Set(sigs.map(bytesToHex)).size).toBe(sigs.length);
  for (const sig of sigs) expect(sm2Verify(publicKey, m, sig)).toBe(true);
});
