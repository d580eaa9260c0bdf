/**
 * The binding against the strict mock card, which behaves like the hardest real libraries to
 * please: a 419-byte ECCCipher cleared whole, one open device per process, no empty hash update,
 * at most 256 random bytes a call, SM4-CBC key wrapping only, SGD_SM2_1/SGD_SM2_3 key pairs only,
 * output capacities checked.
 */
import { createDecipheriv, randomBytes } from 'node:crypto';
import { importMockKek, importMockKey } from '../../src/mock/keystore';
import { openDevice, SDR, SdfDevice, SdfSession } from '../../src/sdf';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Digest, sm2VerifyDigest, sm3 } from '../../src/sm2';
import { mockControl, mockVariantLib, TempKeystore } from '../helpers/mock-card';
import { smCryptoOracle } from '../helpers/oracles';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const smCrypto = require('sm-crypto');

const STRICT = mockVariantLib('strict');
const PASSWORD = 'strict pass';

describe('the binding against the strict mock card', () => {
  const keystore = new TempKeystore();
  const kek = randomBytes(16);
  const signKey = generatePrivateKey();
  const encKey = generatePrivateKey();
  const mock = mockControl(STRICT);
  let device: SdfDevice;
  let session: SdfSession;

  beforeAll(async () => {
    keystore.import(1, PASSWORD, signKey);
    importMockKey({ keystore: keystore.dir, index: 2, password: PASSWORD, privateKey: encKey, usage: 'enc' });
    importMockKek({ keystore: keystore.dir, index: 4, kek });
    keystore.activate();
    device = await openDevice(STRICT, { kekAlgorithm: 'SGD_SM4_CBC' });
    session = await device.openSession();
    await session.getPrivateKeyAccessRight(2, PASSWORD);
  });

  afterAll(async () => {
    await device.close();
    expect(mock.counters()).toMatchObject({ openDevices: 0, openSessions: 0, accessRights: 0 });
    keystore.remove();
  });

  it('encrypts into an ECCCipher the library clears whole (419 bytes) without a byte past the buffer', async () => {
    const plain = randomBytes(20);
    const cipher = await session.externalEncrypt(publicKeyFromPrivateKey(encKey), plain);
    expect(cipher.c2).toHaveLength(20);
    expect(Buffer.from(await session.internalDecrypt(2, cipher)).equals(plain)).toBe(true);
    const inside = await session.internalEncrypt(2, plain);
    expect(Buffer.from(await session.externalDecrypt(encKey, inside)).equals(plain)).toBe(true);
    // sm-crypto, an independent implementation, decrypts the device's C1C3C2 ciphertext too
    const c1c3c2 = Buffer.concat([cipher.c1, cipher.c3, cipher.c2]).toString('hex');
    const decrypted = smCrypto.sm2.doDecrypt(c1c3c2, Buffer.from(encKey).toString('hex'), 1, { output: 'array' });
    expect(Buffer.from(decrypted).equals(plain)).toBe(true);
  });

  it('makes session keys under SM2 keys whose ECCCipher the library clears whole', async () => {
    const { key, cipher } = await session.generateKeyWithIpk(2);
    const { key: other } = await session.generateKeyWithEpk(publicKeyFromPrivateKey(encKey));
    const imported = await session.importKeyWithIsk(2, cipher);
    const block = randomBytes(16);
    expect(await session.encrypt(imported, block)).toEqual(await session.encrypt(key, block));
    for (const k of [key, other, imported]) await session.destroyKey(k);
  });

  it('shares the one open device: a second openDevice does not call SDF_OpenDevice again', async () => {
    const opened = mock.callCount('SDF_OpenDevice');
    const second = await openDevice(STRICT);
    try {
      expect(mock.callCount('SDF_OpenDevice')).toBe(opened);
      const other = await second.openSession();
      expect((await other.generateRandom(32)).length).toBe(32);
    } finally {
      await second.close();
    }
    // closing one SdfDevice leaves the other's device open
    expect(mock.counters().openDevices).toBe(1);
    expect((await session.generateRandom(16)).length).toBe(16);
  });

  it('hashes an empty message without an empty SDF_HashUpdate (the library refuses one)', async () => {
    const publicKey = publicKeyFromPrivateKey(signKey);
    const updates = mock.callCount('SDF_HashUpdate');
    expect(await session.hash(new Uint8Array(0))).toEqual(sm3(new Uint8Array(0)));
    expect(await session.hash(new Uint8Array(0), { publicKey })).toEqual(sm2Digest(publicKey, new Uint8Array(0)));
    expect(mock.callCount('SDF_HashUpdate')).toBe(updates);
  });

  it('asks for random bytes 256 at a time, and halves the piece when the library refuses it', async () => {
    const calls = mock.callCount('SDF_GenerateRandom');
    expect(await session.generateRandom(1000)).toHaveLength(1000);
    expect(mock.callCount('SDF_GenerateRandom') - calls).toBe(4); // 256-byte pieces, none refused
    const wide = await openDevice(STRICT, { randomChunkBytes: 4096 });
    try {
      const piece = await wide.openSession();
      const before = mock.callCount('SDF_GenerateRandom');
      const random = await piece.generateRandom(3000);
      expect(random).toHaveLength(3000);
      expect(random.subarray(2900).some((b) => b !== 0)).toBe(true);
      // 3000 refused, then 1500, 750 and 375; then 16 pieces of 188 bytes
      expect(mock.callCount('SDF_GenerateRandom') - before).toBe(4 + 16);
    } finally {
      await wide.close();
    }
  });

  it('wraps session keys with the configured SGD_SM4_CBC (IV and ciphertext), which node:crypto unwraps', async () => {
    await expect(session.generateKeyWithKek(4, { algorithm: 'SGD_SM4_ECB' })).rejects.toMatchObject({
      code: SDR.SDR_ALGNOTSUPPORT,
    });
    const { key, wrapped } = await session.generateKeyWithKek(4);
    expect(wrapped).toHaveLength(32);
    const unwrap = createDecipheriv('sm4-cbc', kek, wrapped.subarray(0, 16)).setAutoPadding(false);
    const raw = Buffer.concat([unwrap.update(wrapped.subarray(16)), unwrap.final()]);
    const again = await session.importKeyWithKek(4, wrapped);
    const block = randomBytes(16);
    const expected = createDecipheriv('sm4-ecb', raw, null).setAutoPadding(false);
    const sealed = await session.encrypt(again, block);
    expect(Buffer.concat([expected.update(sealed), expected.final()]).equals(block)).toBe(true);
    expect(await session.encrypt(key, block)).toEqual(sealed);
  });

  it('generates key pairs for signing (SGD_SM2_1, the default) and encryption (SGD_SM2_3)', async () => {
    for (const opts of [{}, { algorithm: 'SGD_SM2_3' as const }]) {
      const { publicKey, privateKey } = await session.generateKeyPairEcc(opts);
      expect(publicKeyFromPrivateKey(privateKey)).toEqual(publicKey);
    }
  });

  it('passes the capacity of every output buffer, which the library checks', async () => {
    await session.hashInit();
    await session.hashUpdate(Buffer.from('abc'));
    expect(await session.hashFinal()).toEqual(sm3(Buffer.from('abc')));
    const { key } = await session.generateKeyWithKek(4);
    const data = randomBytes(32);
    const sealed = await session.encrypt(key, data, { mode: 'cbc', iv: Buffer.alloc(16) });
    expect(Buffer.from(await session.decrypt(key, sealed, { mode: 'cbc', iv: Buffer.alloc(16) })).equals(data)).toBe(
      true,
    );
    expect(await session.calculateMac(key, data)).toHaveLength(16);
  });

  it('signs with the internal key, verified by the host and by sm-crypto', async () => {
    await session.getPrivateKeyAccessRight(1, PASSWORD);
    const publicKey = publicKeyFromPrivateKey(signKey);
    const digest = sm2Digest(publicKey, Buffer.from('strict'));
    const signature = await session.internalSign(1, digest);
    expect(sm2VerifyDigest(publicKey, digest, signature)).toBe(true);
    expect(smCryptoOracle.verify(publicKey, Buffer.from('strict'), signature)).toBe(true);
    await session.releasePrivateKeyAccessRight(1);
  });
});
