// Published vectors. Sources and how each value was confirmed:
// - SM3: GM/T 0004-2012 Appendix A examples 1 ("abc") and 2 ("abcd" x 16); also computed by
//   sm-crypto's independent JS SM3 below.
// - SM2 signature: GM/T 0003.5-2012 / GB/T 32918.2-2016 sample on the recommended curve
//   sm2p256v1 with the default ID "1234567812345678" (not "ALICE123@YAHOO.COM", which belongs
//   to the Part-2 example on the Fp-256 test curve). d, public key, Z, e, k, x1, r and s agree
//   with public copies of that sample; here r||s is also reproduced by sm-crypto with the same k,
//   and OpenSSL accepts (r, s) under the published public key.
import { createRequire } from 'node:module';
import {
  SM2_DEFAULT_USER_ID,
  bytesToHex,
  hexToBytes,
  publicKeyFromPrivateKey,
  publicKeyToPem,
  signatureToDer,
  sm2Digest,
  sm2SignDigestWithK,
  sm2Verify,
  sm2VerifyDigest,
  sm2Z,
  sm3,
} from '../../src/sm2';
import { Point, SM2_A, SM2_B, SM2_GX, SM2_GY, SM2_N, SM2_P } from '../../src/sm2/curve';
import { TempDir, openssl, opensslStatus } from '../fixtures/sm2/openssl';

const requireCjs = createRequire(__filename);
const smCrypto = requireCjs('sm-crypto');
const { BigInteger } = requireCjs('jsbn');

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('SM3 (GM/T 0004-2012 Appendix A)', () => {
  test('example 1: "abc"', () => {
    const expected = '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0';
    expect(bytesToHex(sm3(ascii('abc')))).toBe(expected);
    expect(smCrypto.sm3(Array.from(ascii('abc')))).toBe(expected);
  });

  test('example 2: "abcd" x 16 (512 bits)', () => {
    const expected = 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732';
    const msg = ascii('abcd'.repeat(16));
    expect(bytesToHex(sm3(msg))).toBe(expected);
    expect(smCrypto.sm3(Array.from(msg))).toBe(expected);
  });

  test('empty input and a plain Uint8Array result', () => {
    const out = sm3(new Uint8Array(0));
    expect(out).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(out)).toBe(false);
    expect(bytesToHex(out)).toBe(smCrypto.sm3([]));
  });
});

describe('curve constants', () => {
  test('G is on the curve and has order n', () => {
    expect((SM2_GY * SM2_GY - (SM2_GX ** 3n + SM2_A * SM2_GX + SM2_B)) % SM2_P).toBe(0n);
    const minusG = Point.BASE.multiply(SM2_N - 1n);
    expect(minusG.equals(Point.BASE.negate())).toBe(true);
    expect(minusG.add(Point.BASE).is0()).toBe(true);
  });
});

describe('SM2 signature sample (GM/T 0003.5-2012, sm2p256v1)', () => {
  const d = hexToBytes('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8');
  const pubHex =
    '09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020' +
    'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13';
  const zHex = 'b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3';
  const eHex = 'f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640';
  const kHex = '59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21';
  const x1Hex = '04ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73';
  const rHex = 'f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3';
  const sHex = 'b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa';
  const message = ascii('message digest');

  test('public key = d·G (also by sm-crypto)', () => {
    expect(bytesToHex(publicKeyFromPrivateKey(d))).toBe(pubHex);
    expect(smCrypto.sm2.getPublicKeyFromPrivateKey(bytesToHex(d))).toBe('04' + pubHex);
  });

  test('x1 of k·G', () => {
    expect(bytesToHex(publicKeyFromPrivateKey(hexToBytes(kHex)).subarray(0, 32))).toBe(x1Hex);
  });

  test('Z with the default ID, also hashed independently with sm-crypto', () => {
    expect(SM2_DEFAULT_USER_ID).toBe('1234567812345678');
    const pub = hexToBytes(pubHex);
    expect(bytesToHex(sm2Z(pub))).toBe(zHex);
    expect(bytesToHex(sm2Z(pub, '1234567812345678'))).toBe(zHex);
    expect(bytesToHex(sm2Z(pub, ascii('1234567812345678')))).toBe(zHex);
    expect(bytesToHex(sm2Z(hexToBytes('04' + pubHex)))).toBe(zHex);
    const curveHex = [SM2_A, SM2_B, SM2_GX, SM2_GY].map((v) => v.toString(16).padStart(64, '0')).join('');
    const zInput = hexToBytes('0080' + bytesToHex(ascii('1234567812345678')) + curveHex + pubHex);
    expect(smCrypto.sm3(Array.from(zInput))).toBe(zHex);
  });

  test('e = SM3(Z || M)', () => {
    expect(bytesToHex(sm2Digest(hexToBytes(pubHex), message))).toBe(eHex);
  });

  test('r || s with the published k', () => {
    const sig = sm2SignDigestWithK(d, hexToBytes(eHex), BigInt('0x' + kHex));
    expect(bytesToHex(sig)).toBe(rHex + sHex);
  });

  test('sm-crypto reproduces r || s with the same k', () => {
    const sig = smCrypto.sm2.doSignature(Array.from(message), bytesToHex(d), {
      hash: true,
      publicKey: '04' + pubHex,
      pointPool: [{ k: new BigInteger(kHex, 16), x1: new BigInteger(x1Hex, 16) }],
    });
    expect(sig).toBe(rHex + sHex);
  });

  test('verifies here, in sm-crypto and in OpenSSL', () => {
    const pub = hexToBytes(pubHex);
    const sig = hexToBytes(rHex + sHex);
    expect(sm2Verify(pub, message, sig)).toBe(true);
    expect(sm2VerifyDigest(pub, hexToBytes(eHex), sig)).toBe(true);
    expect(smCrypto.sm2.doVerifySignature(Array.from(message), rHex + sHex, '04' + pubHex, { hash: true })).toBe(true);
    const dir = new TempDir();
    try {
      const args = (m: string) => [
        'dgst',
        '-sm3',
        '-verify',
        dir.file('pub.pem', publicKeyToPem(pub)),
        '-sigopt',
        'distid:1234567812345678',
        '-signature',
        dir.file('sig.der', signatureToDer(sig)),
        dir.file(m),
      ];
      dir.file('msg', message);
      dir.file('other', ascii('message digesT'));
      expect(opensslStatus(args('msg')).stdout).toContain('Verified OK');
      expect(opensslStatus(args('other')).status).not.toBe(0);
    } finally {
      dir.remove();
    }
  });

  test('the sample does not verify under another ID', () => {
    const sig = hexToBytes(rHex + sHex);
    expect(sm2Verify(hexToBytes(pubHex), message, sig, { userId: 'ALICE123@YAHOO.COM' })).toBe(false);
  });

  test('sm2SignDigestWithK rejects k outside [1, n-1]', () => {
    expect(() => sm2SignDigestWithK(d, hexToBytes(eHex), 0n)).toThrow(RangeError);
    expect(() => sm2SignDigestWithK(d, hexToBytes(eHex), SM2_N)).toThrow(RangeError);
  });
});

test('openssl is available for the cross-checks', () => {
  expect(openssl(['version']).toString()).toMatch(/OpenSSL 3/);
});
