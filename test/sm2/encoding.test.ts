import fc from 'fast-check';
import {
  bytesToHex,
  fromFiscoSignature,
  generatePrivateKey,
  hexToBytes,
  parsePrivateKey,
  parseSignature,
  parsePublicKey,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  signatureFromDer,
  signatureToDer,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  sm2Z,
  toFiscoSignature,
} from '../../src/sm2';
import { SM2_N, invertN, modN } from '../../src/sm2/curve';

const be32 = (v: bigint) => hexToBytes(v.toString(16).padStart(64, '0'));
const sigOf = (r: bigint, s: bigint) => Uint8Array.of(...be32(r), ...be32(s));

const d = generatePrivateKey();
const dInt = BigInt('0x' + bytesToHex(d));
const pub = publicKeyFromPrivateKey(d);
const msg = new TextEncoder().encode('payload');
const sig = sm2Sign(d, msg, { publicKey: pub });

describe('hex helpers', () => {
  test('strict parsing and round trip', () => {
    expect(hexToBytes('')).toEqual(new Uint8Array(0));
    expect(hexToBytes('00aBfF')).toEqual(Uint8Array.of(0, 0xab, 0xff));
    expect(bytesToHex(Uint8Array.of(0, 0xab, 0xff))).toBe('00abff');
    for (const bad of ['0', 'abc', 'zz', '0x00', ' 00', '00 ', 'é0']) expect(() => hexToBytes(bad)).toThrow(TypeError);
    expect(() => hexToBytes(12 as unknown as string)).toThrow(TypeError);
    expect(() => bytesToHex('00' as unknown as Uint8Array)).toThrow(TypeError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        expect(hexToBytes(bytesToHex(b))).toEqual(b);
        expect(hexToBytes(bytesToHex(b).toUpperCase())).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });
});

describe('DER signatures', () => {
  test('minimal integers', () => {
    expect(bytesToHex(signatureToDer(sigOf(1n, 0x7fn)))).toBe('30060201010201' + '7f');
    expect(bytesToHex(signatureToDer(sigOf(0x80n, 0n)))).toBe('3007020200800201' + '00');
    const big = sigOf(SM2_N - 1n, 0x0100n);
    const der = signatureToDer(big);
    expect(bytesToHex(der.subarray(0, 5))).toBe('3027022100');
    expect(signatureFromDer(der)).toEqual(big);
  });

  test('round trip for random r, s (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
        expect(signatureFromDer(signatureToDer(raw))).toEqual(raw);
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(fc.bigInt(1n, SM2_N - 1n), fc.bigInt(1n, SM2_N - 1n), (r, s) => {
        const der = signatureToDer(sigOf(r, s));
        expect(der.length).toBeLessThanOrEqual(72);
        expect(signatureFromDer(der)).toEqual(sigOf(r, s));
      }),
      { numRuns: 100 },
    );
  });

  test('strictness: trailing bytes, non-minimal, negative, too long, tags, lengths', () => {
    const ok = signatureToDer(sig);
    const bad = [
      Uint8Array.of(...ok, 0),
      hexToBytes('3007020200010201' + '01'), // r = 00 01
      hexToBytes('30060201800201' + '01'), // r negative
      hexToBytes('3006020101020181'), // s negative
      hexToBytes('3025' + '0221' + '01' + '00'.repeat(32) + '020101'), // r 33 bytes
      hexToBytes('3026' + '0222' + '0080' + '00'.repeat(32) + '020101'), // r 34 bytes with 00
      hexToBytes('31060201010201' + '01'), // SET, not SEQUENCE
      hexToBytes('30060301010201' + '01'), // BIT STRING for r
      hexToBytes('30070201010201' + '01'), // SEQUENCE length too long
      hexToBytes('3005020101020101'), // SEQUENCE length too short
      hexToBytes('308106020101020101'), // long-form length for 6
      hexToBytes('3080020101020101' + '0000'), // indefinite length
      hexToBytes('30050200020101'), // empty INTEGER
      hexToBytes('3003020101'), // s missing
      hexToBytes('3009020101020101020101'), // three INTEGERs
      new Uint8Array(0),
      Uint8Array.of(0x30),
    ];
    for (const b of bad) expect(() => signatureFromDer(b)).toThrow(TypeError);
    expect(() => signatureFromDer('30' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => signatureToDer(new Uint8Array(63))).toThrow(TypeError);
  });

  test('zero integers are valid DER (verify rejects them later)', () => {
    expect(signatureFromDer(hexToBytes('3006020100020100'))).toEqual(new Uint8Array(64));
  });

  test('garbage only ever gives TypeError (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        try {
          signatureFromDer(b);
        } catch (err) {
          expect(err).toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('FISCO r||s||x||y', () => {
  test('round trip and checks', () => {
    const fisco = toFiscoSignature(sig, Uint8Array.of(4, ...pub));
    expect(fisco).toHaveLength(128);
    expect(bytesToHex(fisco)).toBe(bytesToHex(sig) + bytesToHex(pub));
    const back = fromFiscoSignature(fisco);
    expect(back.signature).toEqual(sig);
    expect(back.publicKey).toEqual(pub);
    expect(sm2Verify(back.publicKey, msg, back.signature)).toBe(true);
    expect(() => fromFiscoSignature(fisco.subarray(1))).toThrow(TypeError);
    expect(() => toFiscoSignature(sig.subarray(1), pub)).toThrow(TypeError);
    expect(() => toFiscoSignature(sig, new Uint8Array(64))).toThrow(TypeError);
  });
});

describe('verify edge cases', () => {
  const e = hexToBytes('ab'.repeat(32));
  test('r or s out of [1, n-1] → false', () => {
    const r = BigInt('0x' + bytesToHex(sig.subarray(0, 32)));
    const s = BigInt('0x' + bytesToHex(sig.subarray(32)));
    expect(sm2Verify(pub, msg, sigOf(r, s))).toBe(true);
    for (const [rr, ss] of [
      [0n, s],
      [r, 0n],
      [SM2_N, s],
      [r, SM2_N],
      [SM2_N + 1n, s],
      [r, SM2_N + 1n],
      [2n ** 256n - 1n, s],
    ]) {
      expect(sm2Verify(pub, msg, sigOf(rr, ss))).toBe(false);
    }
  });

  test('t = (r + s) mod n = 0 → false', () => {
    const r = 12345n;
    expect(sm2VerifyDigest(pub, e, sigOf(r, SM2_N - r))).toBe(false);
  });

  test('s·G + t·P at infinity → false, not a throw', () => {
    // s + t·d ≡ 0 with t = r + s  ⇒  s = -r·d / (1 + d)
    const r = 987654321n;
    const s = modN(-r * dInt * invertN(dInt + 1n));
    expect(sm2VerifyDigest(pub, e, sigOf(r, s))).toBe(false);
  });

  test('bad public keys and signature lengths → false', () => {
    const off = pub.slice();
    off[0] ^= 1;
    for (const p of [
      off,
      new Uint8Array(64),
      pub.subarray(1),
      Uint8Array.of(2, ...pub),
      new Uint8Array(0),
      Uint8Array.of(4, ...pub, 0),
    ]) {
      expect(sm2Verify(p, msg, sig)).toBe(false);
      expect(sm2VerifyDigest(p, e, sig)).toBe(false);
    }
    for (const s of [sig.subarray(1), Uint8Array.of(...sig, 0), new Uint8Array(0), signatureToDer(sig)]) {
      expect(sm2Verify(pub, msg, s)).toBe(false);
    }
    expect(sm2VerifyDigest(pub, e.subarray(1), sm2SignDigest(d, e))).toBe(false);
    expect(sm2VerifyDigest(pub, e, sm2SignDigest(d, e))).toBe(true);
  });

  test('non-Uint8Array arguments → TypeError', () => {
    const hex = bytesToHex(sig);
    expect(() => sm2Verify(bytesToHex(pub) as unknown as Uint8Array, msg, sig)).toThrow(TypeError);
    expect(() => sm2Verify(pub, 'payload' as unknown as Uint8Array, sig)).toThrow(TypeError);
    expect(() => sm2Verify(pub, msg, hex as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sm2Verify(pub, msg, Array.from(sig) as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sm2Verify(pub, msg, sig, { userId: 5 as unknown as string })).toThrow(TypeError);
    expect(() => sm2VerifyDigest(pub, null as unknown as Uint8Array, sig)).toThrow(TypeError);
  });

  test('user ID length: 8191 bytes fits ENTL, 8192 does not', () => {
    const longest = new Uint8Array(8191).fill(0x41);
    const signed = sm2Sign(d, msg, { userId: longest, publicKey: pub });
    expect(sm2Verify(pub, msg, signed, { userId: longest })).toBe(true);
    expect(() => sm2Z(pub, new Uint8Array(8192))).toThrow(RangeError);
    expect(() => sm2Sign(d, msg, { userId: 'x'.repeat(8192) })).toThrow(RangeError);
    expect(sm2Verify(pub, msg, signed, { userId: new Uint8Array(8192) })).toBe(false);
    expect(bytesToHex(sm2Z(pub, ''))).toMatch(/^[0-9a-f]{64}$/);
  });

  test('sign argument checks', () => {
    expect(() => sm2SignDigest(d, e.subarray(1))).toThrow(TypeError);
    expect(() => sm2SignDigest(new Uint8Array(32), e)).toThrow(RangeError);
    expect(() => sm2Sign(d, 'x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sm2Z(new Uint8Array(64))).toThrow(TypeError);
  });

  test('verify never throws on garbage signature and public key bytes (fast-check)', () => {
    const lengths = fc.oneof(fc.constant(64), fc.constant(65), fc.nat({ max: 140 }));
    const bytesOfLength = lengths.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
    const pubs = fc.oneof(bytesOfLength, fc.constant(pub), fc.constant(Uint8Array.of(4, ...pub)));
    fc.assert(
      fc.property(pubs, bytesOfLength, fc.uint8Array({ maxLength: 40 }), (p, s, m) => {
        expect(sm2Verify(p, m, s)).toBe(false);
        expect(typeof sm2VerifyDigest(p, m, s)).toBe('boolean');
      }),
      { numRuns: 100 },
    );
  });
});

describe('key parsers on garbage (fast-check)', () => {
  const pem = privateKeyToPem(d);
  const sec1 = privateKeyToPem(d, 'sec1');
  const der = new Uint8Array(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
  const mutatedText = fc
    .tuple(fc.constantFrom(pem, sec1), fc.nat(), fc.string({ minLength: 0, maxLength: 3 }), fc.nat({ max: 4 }))
    .map(([text, at, insert, cut]) => {
      const i = at % text.length;
      return text.slice(0, i) + insert + text.slice(i + cut);
    });
  const mutatedDer = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([at, v, truncate]) => {
    const i = at % der.length;
    if (truncate) return der.subarray(0, i);
    const out = der.slice();
    out[i] = v;
    return out;
  });
  const garbage = fc.oneof(fc.string({ maxLength: 100 }), fc.uint8Array({ maxLength: 150 }), mutatedText, mutatedDer);

  test('parsePrivateKey throws only TypeError or RangeError', () => {
    fc.assert(
      fc.property(garbage, (input) => {
        try {
          const out = parsePrivateKey(input);
          expect(out).toHaveLength(32);
        } catch (err) {
          expect(err instanceof TypeError || err instanceof RangeError).toBe(true);
          expect((err as Error).message.toLowerCase()).not.toContain(bytesToHex(d).slice(0, 16));
        }
      }),
      { numRuns: 100 },
    );
  });

  test('parsePublicKey throws only TypeError', () => {
    fc.assert(
      fc.property(garbage, (input) => {
        try {
          expect(parsePublicKey(input)).toHaveLength(64);
        } catch (err) {
          expect(err).toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('parseSignature', () => {
  const d = generatePrivateKey();
  const pub = publicKeyFromPrivateKey(d);
  const rs = sm2Sign(d, Buffer.from('any form'));

  it('reads r||s, FISCO r||s||pub (with its key) and DER to the same r||s', () => {
    expect(parseSignature(rs)).toEqual({ signature: rs });
    expect(parseSignature(toFiscoSignature(rs, pub))).toEqual({ signature: rs, publicKey: pub });
    expect(parseSignature(signatureToDer(rs))).toEqual({ signature: rs });
  });

  it('refuses anything else with a TypeError naming the three forms', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(63), Uint8Array.from([0x30, 0x01, 0x00])]) {
      expect(() => parseSignature(bad)).toThrow(/64-byte r\|\|s, 128-byte FISCO r\|\|s\|\|pub or DER/);
    }
    expect(() => parseSignature('00' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
