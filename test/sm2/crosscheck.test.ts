// Our SM2 against two independent implementations: sm-crypto (pure JS) and the OpenSSL 3 CLI.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  bytesToHex,
  generatePrivateKey,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  publicKeyToPem,
  signatureFromDer,
  signatureToDer,
  sm2Sign,
  sm2SignDigest,
  sm2Digest,
  sm2Verify,
  sm2Z,
  sm3,
} from '../../src/sm2';
import { TempDir, opensslStatus } from '../fixtures/sm2/openssl';

const smCrypto = createRequire(__filename)('sm-crypto');
const smVerify = (msg: Uint8Array, sig: Uint8Array, pub: Uint8Array, userId?: string): boolean =>
  smCrypto.sm2.doVerifySignature(Array.from(msg), bytesToHex(sig), '04' + bytesToHex(pub), {
    hash: true,
    der: false,
    ...(userId === undefined ? {} : { userId }),
  });

const COUNT = 24;
interface Case {
  d: Uint8Array;
  pub: Uint8Array;
  msg: Uint8Array;
  sig: Uint8Array;
}
const cases: Case[] = [];
for (let i = 0; i < COUNT; i++) {
  const d = generatePrivateKey();
  const pub = publicKeyFromPrivateKey(d);
  // Lengths 0, 1, 2, … up to a few blocks, so SM3 padding boundaries are crossed.
  const msg = new Uint8Array(randomBytes(i * 7));
  cases.push({ d, pub, msg, sig: sm2Sign(d, msg) });
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

describe('against sm-crypto', () => {
  test('our signatures verify in sm-crypto', () => {
    for (const c of cases) expect(smVerify(c.msg, c.sig, c.pub)).toBe(true);
  });

  test("sm-crypto's signatures verify here", () => {
    for (const c of cases) {
      const sig = smCrypto.sm2.doSignature(Array.from(c.msg), bytesToHex(c.d), { hash: true, der: false });
      expect(sm2Verify(c.pub, c.msg, Buffer.from(sig, 'hex'))).toBe(true);
    }
  });

  test('same Z: sm-crypto e over an empty message equals SM3(Z)', () => {
    // With hash: true sm-crypto signs SM3(Z || M); for M = "" our SM3(Z) is that digest, so a
    // signature over it made from our Z must verify in sm-crypto.
    for (const c of cases.slice(0, 5)) {
      const e = sm3(sm2Z(c.pub));
      expect(e).toEqual(sm2Digest(c.pub, new Uint8Array(0)));
      const sig = sm2SignDigest(c.d, e);
      expect(smVerify(new Uint8Array(0), sig, c.pub)).toBe(true);
    }
  });

  test('custom string ID agrees both ways', () => {
    for (const c of cases.slice(0, 5)) {
      const userId = 'node-α@fisco';
      const ours = sm2Sign(c.d, c.msg, { userId });
      expect(smVerify(c.msg, ours, c.pub, userId)).toBe(true);
      expect(smVerify(c.msg, ours, c.pub)).toBe(false);
      const theirs = smCrypto.sm2.doSignature(Array.from(c.msg), bytesToHex(c.d), { hash: true, userId });
      expect(sm2Verify(c.pub, c.msg, Buffer.from(theirs, 'hex'), { userId })).toBe(true);
      expect(sm2Verify(c.pub, c.msg, Buffer.from(theirs, 'hex'), { userId: Buffer.from(userId) })).toBe(true);
      expect(sm2Verify(c.pub, c.msg, Buffer.from(theirs, 'hex'))).toBe(false);
    }
  });

  test('DER signatures agree with sm-crypto both ways', () => {
    for (const c of cases.slice(0, 4)) {
      expect(
        smCrypto.sm2.doVerifySignature(Array.from(c.msg), bytesToHex(signatureToDer(c.sig)), '04' + bytesToHex(c.pub), {
          hash: true,
          der: true,
        }),
      ).toBe(true);
      const theirs = smCrypto.sm2.doSignature(Array.from(c.msg), bytesToHex(c.d), { hash: true, der: true });
      expect(sm2Verify(c.pub, c.msg, signatureFromDer(Buffer.from(theirs, 'hex')))).toBe(true);
    }
  });

  test('a flipped bit in message or signature fails in both', () => {
    for (const [i, c] of cases.slice(0, 8).entries()) {
      const badSig = flipBit(c.sig, (i * 61) % 512);
      expect(sm2Verify(c.pub, c.msg, badSig)).toBe(false);
      expect(smVerify(c.msg, badSig, c.pub)).toBe(false);
      const msg = c.msg.length > 0 ? flipBit(c.msg, (i * 13) % (c.msg.length * 8)) : Uint8Array.of(0);
      expect(sm2Verify(c.pub, msg, c.sig)).toBe(false);
      expect(smVerify(msg, c.sig, c.pub)).toBe(false);
    }
  });
});

describe('against the OpenSSL CLI (DER signatures, SPKI PEM, distid)', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = new TempDir();
  });
  afterAll(() => dir.remove());

  const verifyArgs = (pubPath: string, sigPath: string, msgPath: string, id = '1234567812345678') => [
    'dgst',
    '-sm3',
    '-verify',
    pubPath,
    '-sigopt',
    `distid:${id}`,
    '-signature',
    sigPath,
    msgPath,
  ];

  test('our signatures verify in OpenSSL', () => {
    cases.forEach((c, i) => {
      const r = opensslStatus(
        verifyArgs(
          dir.file(`pub${i}.pem`, publicKeyToPem(c.pub)),
          dir.file(`sig${i}.der`, signatureToDer(c.sig)),
          dir.file(`msg${i}`, c.msg),
        ),
      );
      expect(r.stdout).toContain('Verified OK');
    });
  });

  test("OpenSSL's signatures (made with our PKCS#8 PEM) verify here", () => {
    cases.forEach((c, i) => {
      const key = dir.file(`key${i}.pem`, privateKeyToPem(c.d, i % 2 === 0 ? 'pkcs8' : 'sec1'));
      const out = dir.file(`osig${i}.der`);
      const r = opensslStatus([
        'dgst',
        '-sm3',
        '-sign',
        key,
        '-sigopt',
        'distid:1234567812345678',
        '-out',
        out,
        dir.file(`msg${i}`, c.msg),
      ]);
      expect(r.status).toBe(0);
      const der = new Uint8Array(readFileSync(out));
      const sig = signatureFromDer(der);
      expect(signatureToDer(sig)).toEqual(der);
      expect(sm2Verify(c.pub, c.msg, sig)).toBe(true);
      expect(sm2Verify(c.pub, c.msg, sig, { userId: '1234567812345679' })).toBe(false);
    });
  });

  test('another distid fails in OpenSSL; a matching custom ID verifies', () => {
    const c = cases[3];
    const pub = dir.file('idpub.pem', publicKeyToPem(c.pub));
    const msg = dir.file('idmsg', c.msg);
    const sig = dir.file('idsig.der', signatureToDer(c.sig));
    expect(opensslStatus(verifyArgs(pub, sig, msg, 'ALICE123@YAHOO.COM')).status).not.toBe(0);
    const aliceSig = dir.file('alice.der', signatureToDer(sm2Sign(c.d, c.msg, { userId: 'ALICE123@YAHOO.COM' })));
    expect(opensslStatus(verifyArgs(pub, aliceSig, msg, 'ALICE123@YAHOO.COM')).stdout).toContain('Verified OK');
  });

  test('a flipped bit in message or signature fails in OpenSSL', () => {
    const c = cases[5];
    const pub = dir.file('fpub.pem', publicKeyToPem(c.pub));
    const goodMsg = dir.file('fmsg', c.msg);
    const goodSig = dir.file('fsig.der', signatureToDer(c.sig));
    const badSig = dir.file('fbadsig.der', signatureToDer(flipBit(c.sig, 100)));
    const badMsg = dir.file('fbadmsg', flipBit(c.msg, 3));
    expect(opensslStatus(verifyArgs(pub, goodSig, goodMsg)).status).toBe(0);
    expect(opensslStatus(verifyArgs(pub, badSig, goodMsg)).status).not.toBe(0);
    expect(opensslStatus(verifyArgs(pub, goodSig, badMsg)).status).not.toBe(0);
  });
});

test('sm2Sign with and without a supplied public key gives verifiable signatures', () => {
  const c = cases[1];
  expect(sm2Verify(c.pub, c.msg, sm2Sign(c.d, c.msg, { publicKey: c.pub }))).toBe(true);
  const with04 = Uint8Array.of(4, ...c.pub);
  expect(sm2Verify(c.pub, c.msg, sm2Sign(c.d, c.msg, { publicKey: with04 }))).toBe(true);
  expect(sm2Verify(with04, c.msg, c.sig)).toBe(true);
  expect(() => sm2Sign(c.d, c.msg, { publicKey: new Uint8Array(64) })).toThrow(TypeError);
});
