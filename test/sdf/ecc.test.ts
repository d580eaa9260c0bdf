import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { importMockKey } from '../../src/mock/keystore';
import {
  openDevice,
  resolveSdfLibraryOptions,
  SDR,
  SdfDevice,
  SdfError,
  SdfSession,
  sm2CipherFromBytes,
  sm2CipherFromDer,
  sm2CipherToBytes,
  sm2CipherToDer,
} from '../../src/sdf';
import {
  bytesToHex,
  generatePrivateKey,
  hexToBytes,
  privateKeyToPem,
  publicKeyFromPrivateKey,
  publicKeyToPem,
  sm2VerifyDigest,
  sm3,
} from '../../src/sm2';
import { mockVariantLib, TempKeystore } from '../helpers/mock-card';
import { smCryptoOracle } from '../helpers/oracles';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const smCrypto = require('sm-crypto');

const PASSWORD = 'enc pass#1';

/** MOCK_GetCallCount of one build of the mock (the same dlopen handle the binding uses). */
function callCount(lib: string) {
  return koffi.load(lib).func('MOCK_GetCallCount', 'int', ['str', koffi.out(koffi.pointer('uint64_t'))]);
}
const profiles = [
  { name: 'standard', profile: 'standard', lib: mockVariantLib('standard') },
  { name: 'bits256', profile: 'bits256', lib: mockVariantLib('bits256') },
  { name: 'algid', profile: 'algid', lib: mockVariantLib('algid') },
  { name: 'strict', profile: 'standard', lib: mockVariantLib('strict') },
] as const;

function openssl(args: string[], files: Record<string, Uint8Array | string>, output: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-ecc-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    return readFileSync(join(dir, output));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(profiles)('SDF ECC functions against the $name mock (profile $profile)', ({ profile, lib }) => {
  const keystore = new TempKeystore();
  const encKey = generatePrivateKey();
  const encPublic = publicKeyFromPrivateKey(encKey);
  let device: SdfDevice;
  let session: SdfSession;

  beforeAll(async () => {
    importMockKey({ keystore: keystore.dir, index: 3, password: PASSWORD, privateKey: encKey, usage: 'enc' });
    keystore.activate();
    device = await openDevice(lib, resolveSdfLibraryOptions({ profile }));
    session = await device.openSession();
  });

  afterAll(async () => {
    await device.close();
    keystore.remove();
  });

  it('exports the encryption public key', async () => {
    expect(await session.exportEncPublicKey(3)).toEqual(encPublic);
  });

  it('generates key pairs whose public key matches the private key, and signs externally', async () => {
    const { publicKey, privateKey } = await session.generateKeyPairEcc();
    expect(publicKeyFromPrivateKey(privateKey)).toEqual(publicKey);
    const other = await session.generateKeyPairEcc();
    expect(other.privateKey).not.toEqual(privateKey);

    const message = Buffer.from('external signature');
    const digest = await session.hash(message, { publicKey });
    const signature = await session.externalSign(privateKey, digest);
    expect(sm2VerifyDigest(publicKey, digest, signature)).toBe(true);
    expect(smCryptoOracle.verify(publicKey, message, signature)).toBe(true);
    expect(await session.externalVerify(publicKey, digest, signature)).toBe(true);
  });

  it('encrypts to an external key: OpenSSL (DER) and sm-crypto (both orders) decrypt it', async () => {
    const privateKey = generatePrivateKey();
    const publicKey = publicKeyFromPrivateKey(privateKey);
    const plain = Buffer.from('secret payload, longer than one 32-byte KDF block: 0123456789');
    const cipher = await session.externalEncrypt(publicKey, plain);
    expect(cipher.c2).toHaveLength(plain.length);

    const der = sm2CipherToDer(cipher);
    const fromOpenssl = openssl(
      ['pkeyutl', '-decrypt', '-inkey', 'key.pem', '-in', 'ct.der', '-out', 'pt'],
      { 'key.pem': privateKeyToPem(privateKey), 'ct.der': der },
      'pt',
    );
    expect(fromOpenssl.equals(plain)).toBe(true);

    const c1c3c2 = bytesToHex(sm2CipherToBytes(cipher, { pointPrefix: false }));
    const c1c2c3 = bytesToHex(sm2CipherToBytes(cipher, { order: 'C1C2C3', pointPrefix: false }));
    expect(smCrypto.sm2.doDecrypt(c1c3c2, bytesToHex(privateKey), 1, { output: 'array' })).toEqual([...plain]);
    expect(smCrypto.sm2.doDecrypt(c1c2c3, bytesToHex(privateKey), 0, { output: 'array' })).toEqual([...plain]);
    expect(sm2CipherToBytes(cipher)[0]).toBe(4);
  });

  it('decrypts what OpenSSL and sm-crypto encrypted', async () => {
    const privateKey = generatePrivateKey();
    const publicKey = publicKeyFromPrivateKey(privateKey);
    const plain = Buffer.from('from outside');
    const der = openssl(
      ['pkeyutl', '-encrypt', '-pubin', '-inkey', 'pub.pem', '-in', 'pt', '-out', 'ct.der'],
      { 'pub.pem': publicKeyToPem(publicKey), pt: plain },
      'ct.der',
    );
    expect(Buffer.from(await session.externalDecrypt(privateKey, sm2CipherFromDer(der))).equals(plain)).toBe(true);

    for (const [mode, order] of [
      [1, 'C1C3C2'],
      [0, 'C1C2C3'],
    ] as const) {
      const hex: string = smCrypto.sm2.doEncrypt([...plain], `04${bytesToHex(publicKey)}`, mode);
      const cipher = sm2CipherFromBytes(hexToBytes(hex), { order, pointPrefix: false });
      expect(Buffer.from(await session.externalDecrypt(privateKey, cipher)).equals(plain)).toBe(true);
      expect(bytesToHex(sm2CipherToBytes(cipher, { order, pointPrefix: false }))).toBe(hex);
    }
  });

  it('rejects a tampered ciphertext with SDR_ENCDATAERR', async () => {
    const privateKey = generatePrivateKey();
    const cipher = await session.externalEncrypt(publicKeyFromPrivateKey(privateKey), Buffer.from('x'));
    cipher.c3[0] ^= 1;
    const error = await session.externalDecrypt(privateKey, cipher).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SdfError);
    expect(error).toMatchObject({ fn: 'SDF_ExternalDecrypt_ECC', code: SDR.SDR_ENCDATAERR });
  });

  it('encrypts to the internal key; decrypting needs the access right', async () => {
    const plain = Buffer.from('for the card only');
    const cipher = await session.internalEncrypt(3, plain);
    const hex = bytesToHex(sm2CipherToBytes(cipher, { pointPrefix: false }));
    expect(smCrypto.sm2.doDecrypt(hex, bytesToHex(encKey), 1, { output: 'array' })).toEqual([...plain]);

    const denied = await session.internalDecrypt(3, cipher).catch((e: unknown) => e);
    expect(denied).toMatchObject({ fn: 'SDF_InternalDecrypt_ECC', code: SDR.SDR_PARDENY });
    await session.getPrivateKeyAccessRight(3, PASSWORD);
    expect(Buffer.from(await session.internalDecrypt(3, cipher)).equals(plain)).toBe(true);
    const missing = await session.internalEncrypt(9, plain).catch((e: unknown) => e);
    expect(missing).toMatchObject({ fn: 'SDF_InternalEncrypt_ECC', code: SDR.SDR_KEYNOTEXIST });
  });

  it('generates random data in pieces of 256 bytes, whatever buffer size the device reports', async () => {
    const { bufferSize } = await session.getDeviceInfo();
    const calls = () => {
      const count = [0n];
      callCount(lib)('SDF_GenerateRandom', count);
      return Number(count[0]);
    };
    const before = calls();
    const random = await session.generateRandom(bufferSize + 100);
    expect(calls() - before).toBe(Math.ceil((bufferSize + 100) / 256));
    expect(random).toHaveLength(bufferSize + 100);
    expect(random.subarray(bufferSize).some((byte) => byte !== 0)).toBe(true);
    expect(sm3(random)).not.toEqual(sm3(new Uint8Array(bufferSize + 100)));
  });
});
