import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDevice, SDR, SdfBindingError, SdfDevice, SdfError, SdfSession } from '../../src/sdf';
import { generatePrivateKey, publicKeyFromPrivateKey, sm2Digest, sm2VerifyDigest, sm3 } from '../../src/sm2';
import { MOCK_LIB, mockControl, mockVariantLib, TempKeystore } from '../helpers/mock-card';

const PASSWORD = 'card#pass;word 1';
const variants = [
  { name: 'standard', lib: mockVariantLib('standard'), options: { profile: 'standard' } },
  { name: '32-byte fields', lib: mockVariantLib('bits256'), options: { profile: 'bits256' } },
  { name: 'uiAlgID sign', lib: mockVariantLib('algid'), options: { profile: 'algid' } },
  { name: 'strict', lib: mockVariantLib('strict'), options: { kekAlgorithm: 'SGD_SM4_CBC' as const } },
];

function expectSdfError(error: unknown, fn: string, codeName: string): void {
  expect(error).toBeInstanceOf(SdfError);
  expect(error).toMatchObject({ fn, codeName, code: SDR[codeName as keyof typeof SDR] });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe.each(variants)('SDF binding against the mock ($name)', ({ lib, options }) => {
  const keystore = new TempKeystore();
  const privateKey = generatePrivateKey();
  const publicKey = publicKeyFromPrivateKey(privateKey);
  let device: SdfDevice;
  let session: SdfSession;

  beforeAll(async () => {
    keystore.import(1, PASSWORD, privateKey);
    keystore.activate();
    device = await openDevice(lib, options);
    session = await device.openSession();
  });

  afterAll(async () => {
    await device.close();
    keystore.remove();
  });

  it('decodes the device information', async () => {
    const info = await device.info();
    expect(info.issuerName).toBe('gmt0018 mock');
    expect(info.asymmetricAlgorithms).toContain('SGD_SM2_1');
    expect(info.hashAlgorithms).toEqual(['SGD_SM3']);
    expect(info.asymmetricMaxBits).toBe(256);
    expect(info.bufferSize).toBeGreaterThan(0);
  });

  it('generates random bytes of the requested length', async () => {
    const a = await session.generateRandom(48);
    const b = await session.generateRandom(48);
    expect(a).toHaveLength(48);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(await session.generateRandom(0)).toHaveLength(0);
  });

  it('exports the public key of the imported key', async () => {
    expect(await session.exportSignPublicKey(1)).toEqual(publicKey);
  });

  it('refuses to sign before the access right is granted, and with a wrong password', async () => {
    const fresh = await device.openSession();
    try {
      const digest = sm3(Buffer.from('no right yet'));
      expectSdfError(await failure(fresh.internalSign(1, digest)), 'SDF_InternalSign_ECC', 'SDR_PARDENY');
      const denied = await failure(fresh.getPrivateKeyAccessRight(1, 'wrong password'));
      expectSdfError(denied, 'SDF_GetPrivateKeyAccessRight', 'SDR_PARDENY');
      expect((denied as Error).message).not.toContain('wrong password');
    } finally {
      await fresh.close();
    }
  });

  it('reports an unknown key index as SDR_KEYNOTEXIST', async () => {
    expectSdfError(
      await failure(session.getPrivateKeyAccessRight(77, PASSWORD)),
      'SDF_GetPrivateKeyAccessRight',
      'SDR_KEYNOTEXIST',
    );
    expectSdfError(await failure(session.exportSignPublicKey(77)), 'SDF_ExportSignPublicKey_ECC', 'SDR_KEYNOTEXIST');
  });

  // OpenSSL and sm-crypto verify the card's signatures in test/signer/cross-verify.test.ts.
  it('signs a digest with the internal key; the signature verifies in software and on the device', async () => {
    await session.getPrivateKeyAccessRight(1, PASSWORD);
    const message = Buffer.from('transfer 10 to alice');
    const digest = sm2Digest(publicKey, message);
    const signature = await session.internalSign(1, digest);
    expect(signature).toHaveLength(64);
    expect(sm2VerifyDigest(publicKey, digest, signature)).toBe(true);
    expect(await session.internalVerify(1, digest, signature)).toBe(true);
    expect(await session.externalVerify(publicKey, digest, signature)).toBe(true);

    const flipped = Uint8Array.from(signature);
    flipped[40] ^= 0x01;
    expect(await session.internalVerify(1, digest, flipped)).toBe(false);
    expect(await session.externalVerify(publicKey, digest, flipped)).toBe(false);
    const otherDigest = Uint8Array.from(digest);
    otherDigest[0] ^= 0x80;
    expect(await session.externalVerify(publicKey, otherDigest, signature)).toBe(false);
  });

  it('loses the right to sign once it is released', async () => {
    await session.getPrivateKeyAccessRight(1, PASSWORD);
    await session.releasePrivateKeyAccessRight(1);
    expectSdfError(await failure(session.internalSign(1, new Uint8Array(32))), 'SDF_InternalSign_ECC', 'SDR_PARDENY');
  });

  it('hashes on the device: plain SM3, and SM3(Z||M) with the public key and default ID', async () => {
    const data = Buffer.from('abc');
    expect(await session.hash(data)).toEqual(sm3(data));
    expect(await session.hash(data, { publicKey })).toEqual(sm2Digest(publicKey, data));
    expect(await session.hash(data, { publicKey, userId: 'ALICE' })).toEqual(sm2Digest(publicKey, data, 'ALICE'));
  });

  it('rejects wrong argument lengths before calling the device', async () => {
    await expect(session.internalSign(1, new Uint8Array(31))).rejects.toThrow(RangeError);
    await expect(session.externalVerify(new Uint8Array(63), new Uint8Array(32), new Uint8Array(64))).rejects.toThrow(
      RangeError,
    );
  });
});

describe('SDF handles and resources', () => {
  const keystore = new TempKeystore();
  afterAll(() => keystore.remove());

  it('closes sessions with the device and leaves nothing open in the mock', async () => {
    keystore.activate();
    const before = mockControl().counters();
    const device = await openDevice(MOCK_LIB);
    const sessions = await Promise.all([device.openSession(), device.openSession(), device.openSession()]);
    expect(mockControl().counters().openSessions).toBe(before.openSessions + 3);
    await sessions[0].close();
    await sessions[0].close();
    expect(device.openSessions).toBe(2);
    await device.close();
    const after = mockControl().counters();
    expect(after.openSessions).toBe(before.openSessions);
    expect(after.openDevices).toBe(before.openDevices);
    const closed = await failure(sessions[1].generateRandom(8));
    expect(closed).toBeInstanceOf(SdfBindingError);
    expect(closed).toMatchObject({ code: 'SDF_HANDLE_CLOSED', fn: 'SDF_GenerateRandom' });
  });
});

describe('closing a device that fails to close', () => {
  const keystore = new TempKeystore();
  afterAll(() => keystore.remove());

  it('shares one close among concurrent callers, and can close again after a failure', async () => {
    keystore.activate();
    const mock = mockControl();
    const before = mock.counters();
    const device = await openDevice(MOCK_LIB);
    await device.openSession();
    mock.setFault('SDF_CloseDevice', SDR.SDR_COMMFAIL, 0, 1);
    const [first, second] = await Promise.allSettled([device.close(), device.close()]);
    expect(first).toMatchObject({ status: 'rejected', reason: { codeName: 'SDR_COMMFAIL' } });
    expect(second).toMatchObject({ status: 'rejected', reason: { codeName: 'SDR_COMMFAIL' } });
    expect(mock.counters().openDevices).toBe(before.openDevices + 1);
    await device.close();
    expect(mock.counters().openDevices).toBe(before.openDevices);
    expect(mock.counters().openSessions).toBe(before.openSessions);
    mock.reset();
  });
});

describe('loading libraries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-libs-'));

  it('names the path when the library does not exist', async () => {
    const path = join(dir, 'missing.so');
    const error = await failure(openDevice(path));
    expect(error).toBeInstanceOf(SdfBindingError);
    expect(error).toMatchObject({ code: 'SDF_LIBRARY_NOT_FOUND', libPath: path });
    expect((error as Error).message).toContain(path);
  });

  it('says a file is not a loadable library', async () => {
    const path = join(dir, 'text.so');
    writeFileSync(path, 'not an ELF file');
    const error = await failure(openDevice(path));
    expect(error).toMatchObject({ code: 'SDF_LIBRARY_LOAD_FAILED', libPath: path });
  });

  it('names the missing functions of a shared object without SDF symbols', async () => {
    const source = join(dir, 'empty.c');
    const path = join(dir, 'libempty.so');
    writeFileSync(source, 'int not_sdf(void) { return 0; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', path, source]);
    const error = await failure(openDevice(path));
    expect(error).toBeInstanceOf(SdfBindingError);
    expect(error).toMatchObject({ code: 'SDF_SYMBOL_MISSING', fn: 'SDF_OpenDevice' });
    expect((error as Error).message).toContain('SDF_OpenDevice');
    expect((error as Error).message).toContain(path);
  });

  it('keeps 32 sets of koffi call memory when it loads the first library of the process', () => {
    // A fresh process: koffi takes settings only before its first load, and this one has loaded some.
    const script = `
      const koffi = require('koffi');
      const before = koffi.config().resident_async_pools;
      const gm = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'sdf.js'))});
      gm.SdfDevice.open(${JSON.stringify(MOCK_LIB)}).then(async (device) => {
        await device.close();
        console.log(before, koffi.config().resident_async_pools);
      });
    `;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: join(__dirname, '..', '..'), encoding: 'utf8' });
    expect(out.trim()).toBe('8 32');
  });
});
