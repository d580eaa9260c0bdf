import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { importMockKek, importMockKey } from '../../src/mock/keystore';
import { openDevice, resolveSdfLibraryOptions, SDR, SdfDevice, SdfSession, SdfSessionKey } from '../../src/sdf';
import { generatePrivateKey, publicKeyFromPrivateKey } from '../../src/sm2';
import { mockVariantLib, TempKeystore } from '../helpers/mock-card';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const smCrypto = require('sm-crypto');

const PASSWORD = 'isk pass';

function sm4(mode: 'ecb' | 'cbc', encrypt: boolean, key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Buffer {
  const make = encrypt ? createCipheriv : createDecipheriv;
  const cipher = make(`sm4-${mode}`, key, mode === 'cbc' ? (iv as Uint8Array) : null).setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** CBC-MAC by node:crypto: the last block of SM4-CBC. */
function cbcMac(key: Uint8Array, data: Uint8Array, iv = Buffer.alloc(16)): Buffer {
  return sm4('cbc', true, key, data, iv).subarray(-16);
}

/** The raw key of a session key, learned by decrypting a known block (test-only trick). */
async function keyBytesVia(session: SdfSession, key: SdfSessionKey, candidate: Uint8Array): Promise<boolean> {
  const block = randomBytes(16);
  return Buffer.from(await session.encrypt(key, block)).equals(sm4('ecb', true, candidate, block));
}

describe.each(['standard', 'bits256', 'algid'] as const)('SM4 and session keys against the mock (%s)', (variant) => {
  const keystore = new TempKeystore();
  const kek = randomBytes(16);
  const encKey = generatePrivateKey();
  let device: SdfDevice;
  let session: SdfSession;

  beforeAll(async () => {
    importMockKek({ keystore: keystore.dir, index: 4, kek });
    importMockKey({ keystore: keystore.dir, index: 5, password: PASSWORD, privateKey: encKey, usage: 'enc' });
    keystore.activate();
    device = await openDevice(mockVariantLib(variant), resolveSdfLibraryOptions({ profile: variant }));
    session = await device.openSession();
  });

  afterAll(async () => {
    await device.close();
    keystore.remove();
  });

  it('advertises SM4 ECB, CBC and MAC', async () => {
    expect((await session.getDeviceInfo()).symmetricAlgorithms).toEqual(['SGD_SM4_ECB', 'SGD_SM4_CBC', 'SGD_SM4_MAC']);
  });

  it('generates a key under the KEK; node:crypto unwraps it and matches ECB, CBC and the MAC', async () => {
    const { key, wrapped } = await session.generateKeyWithKek(4);
    expect(wrapped).toHaveLength(16);
    const raw = sm4('ecb', false, kek, wrapped);
    const data = randomBytes(64);
    const iv = randomBytes(16);

    const ecb = await session.encrypt(key, data);
    expect(Buffer.from(ecb).equals(sm4('ecb', true, raw, data))).toBe(true);
    const cbc = await session.encrypt(key, data, { mode: 'cbc', iv });
    expect(Buffer.from(cbc).equals(sm4('cbc', true, raw, data, iv))).toBe(true);
    expect(Buffer.from(await session.decrypt(key, cbc, { mode: 'cbc', iv })).equals(data)).toBe(true);
    expect(Buffer.from(await session.decrypt(key, ecb)).equals(data)).toBe(true);

    expect(Buffer.from(await session.calculateMac(key, data)).equals(cbcMac(raw, data))).toBe(true);
    expect(Buffer.from(await session.calculateMac(key, data, { iv })).equals(cbcMac(raw, data, iv))).toBe(true);
    await session.destroyKey(key);
  });

  it('imports a key wrapped by node:crypto under the KEK', async () => {
    const raw = randomBytes(16);
    const key = await session.importKeyWithKek(4, sm4('ecb', true, kek, raw));
    expect(await keyBytesVia(session, key, raw)).toBe(true);
    await session.destroyKey(key);
  });

  it('makes keys under SM2 keys: sm-crypto decrypts them, and the card imports them back', async () => {
    const peer = generatePrivateKey();
    const { key, cipher } = await session.generateKeyWithEpk(publicKeyFromPrivateKey(peer));
    const hex = Buffer.concat([cipher.c1, cipher.c3, cipher.c2]).toString('hex');
    const raw = Uint8Array.from(smCrypto.sm2.doDecrypt(hex, Buffer.from(peer).toString('hex'), 1, { output: 'array' }));
    expect(raw).toHaveLength(16);
    expect(await keyBytesVia(session, key, raw)).toBe(true);

    const internal = await session.generateKeyWithIpk(5);
    const internalRaw = smCrypto.sm2.doDecrypt(
      Buffer.concat([internal.cipher.c1, internal.cipher.c3, internal.cipher.c2]).toString('hex'),
      Buffer.from(encKey).toString('hex'),
      1,
      { output: 'array' },
    );
    await expect(session.importKeyWithIsk(5, internal.cipher)).rejects.toMatchObject({ code: SDR.SDR_PARDENY });
    await session.getPrivateKeyAccessRight(5, PASSWORD);
    const imported = await session.importKeyWithIsk(5, internal.cipher);
    expect(await keyBytesVia(session, imported, Uint8Array.from(internalRaw))).toBe(true);
    for (const k of [key, internal.key, imported]) await session.destroyKey(k);
  });

  it('refuses a destroyed key, a key of another session, unpadded data and a missing KEK', async () => {
    const { key } = await session.generateKeyWithKek(4);
    await session.destroyKey(key);
    await session.destroyKey(key);
    await expect(session.encrypt(key, new Uint8Array(16))).rejects.toMatchObject({ code: 'SDF_HANDLE_CLOSED' });
    const other = await device.openSession();
    try {
      const foreign = (await other.generateKeyWithKek(4)).key;
      await expect(session.encrypt(foreign, new Uint8Array(16))).rejects.toThrow(/another session/);
    } finally {
      await other.close();
    }
    const live = (await session.generateKeyWithKek(4)).key;
    await expect(session.encrypt(live, new Uint8Array(15))).rejects.toThrow(RangeError);
    await expect(session.encrypt(live, new Uint8Array(16), { mode: 'cbc' })).rejects.toThrow(/iv/);
    await expect(session.generateKeyWithKek(99)).rejects.toMatchObject({
      fn: 'SDF_GenerateKeyWithKEK',
      code: SDR.SDR_KEYNOTEXIST,
    });
  });
});

describe('gmt0018 mock-import --kek', () => {
  const keystore = new TempKeystore();
  afterAll(() => keystore.remove());

  it('writes a KEK from a hex file that the card then uses', async () => {
    const kek = randomBytes(16);
    const file = join(keystore.dir, 'kek.hex');
    writeFileSync(file, `${kek.toString('hex')}\n`);
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const status = await main(['mock-import', '--keystore', keystore.dir, '--index', '7', '--kek', '--key', file]);
    stdout.mockRestore();
    expect(status).toBe(0);
    expect(readFileSync(join(keystore.dir, 'kek-7.key'), 'utf8')).toContain(`kek=${kek.toString('hex')}`);
    keystore.activate();
    const device = await openDevice(mockVariantLib('standard'));
    try {
      const session = await device.openSession();
      const raw = randomBytes(16);
      const key = await session.importKeyWithKek(7, sm4('ecb', true, kek, raw));
      expect(await keyBytesVia(session, key, raw)).toBe(true);
    } finally {
      await device.close();
    }
    expect(existsSync(join(keystore.dir, 'kek-8.key'))).toBe(false);
  });
});
