/**
 * What the binding does so that a vendor's library cannot crash the process or slip a wrong
 * answer through: checks of the file before loading, of the symbol map, and of every answer.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openDevice, SdfBindingError, SdfLibrary } from '../../src/sdf';
import { cipherStructSize, decodeCipher } from '../../src/sdf/ecc-structs';
import { decodeDeviceInfo, decodeSignature, DEVICE_INFO_SIZE, structBuffer } from '../../src/sdf/structs';
import { MOCK_LIB } from '../helpers/mock-card';

const ORDER = Buffer.from('fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123', 'hex');

function signatureStruct(r: Buffer, s: Buffer): Buffer {
  const struct = structBuffer(128);
  r.copy(struct, 64 - r.length);
  s.copy(struct, 128 - s.length);
  return struct;
}

describe('answers are checked before they are passed on', () => {
  const one = Buffer.alloc(32);
  one[31] = 1;

  it('refuses a signature whose r or s is 0 or not below n', () => {
    const nMinus1 = Buffer.from(ORDER);
    nMinus1[31] -= 1;
    expect(decodeSignature(signatureStruct(one, nMinus1), 64, 'SDF_InternalSign_ECC')).toHaveLength(64);
    for (const [r, s] of [
      [Buffer.alloc(32), one],
      [one, Buffer.alloc(32)],
      [ORDER, one],
      [one, ORDER],
      [Buffer.alloc(32, 0xff), one],
    ]) {
      expect(() => decodeSignature(signatureStruct(r, s), 64, 'SDF_InternalSign_ECC')).toThrow(
        expect.objectContaining({ code: 'SDF_BAD_RESPONSE', message: expect.stringMatching(/not in \[1, n-1\]/) }),
      );
    }
  });

  it('notices a library that wrote past the struct it was given (guard bytes)', () => {
    const struct = signatureStruct(one, one);
    struct[128 + 3] = 0; // the first guard byte after the 128-byte ECCSignature
    expect(() => decodeSignature(struct, 64, 'SDF_InternalSign_ECC')).toThrow(/wrote past the 128-byte buffer/);
  });

  it('allocates an ECCCipher for the largest layout in the field (C[1] and padding: 419 bytes)', () => {
    expect(cipherStructSize(64, 16)).toBeGreaterThanOrEqual(420);
    expect(cipherStructSize(64, 1000)).toBeGreaterThanOrEqual(164 + 1000);
    // A library clearing sizeof(ECCCipher) = 419 bytes stays inside the buffer and its guard holds.
    const struct = structBuffer(cipherStructSize(64, 16));
    struct.fill(0, 0, 419);
    struct.writeUInt32LE(16, 160);
    expect(decodeCipher(struct, 64, 'SDF_ExternalEncrypt_ECC').c2).toHaveLength(16);
  });

  it('names SM4 CFB and OFB among the symmetric algorithms the device reports', () => {
    const struct = Buffer.alloc(DEVICE_INFO_SIZE);
    struct.writeUInt32LE(0x401 | 0x402 | 0x404 | 0x408, 72 + 16);
    expect(decodeDeviceInfo(struct).symmetricAlgorithms).toEqual([
      'SGD_SM4_ECB',
      'SGD_SM4_CBC',
      'SGD_SM4_CFB',
      'SGD_SM4_OFB',
    ]);
  });
});

describe('the library file is checked before it is loaded', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'gmt0018-untrusted-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a truncated library with the reason instead of dying of SIGBUS in dlopen', () => {
    const whole = readFileSync(MOCK_LIB);
    for (const size of [0, 64, 1000, Math.floor(whole.length / 2)]) {
      const path = join(dir, `truncated-${size}.so`);
      writeFileSync(path, whole.subarray(0, size));
      let error: unknown;
      try {
        new SdfLibrary(path);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SdfBindingError);
      expect(error).toMatchObject({ code: 'SDF_LIBRARY_LOAD_FAILED', libPath: path });
      expect((error as Error).message).toContain(path);
    }
  });

  it('hands a bare library name to the system search instead of looking for a file', () => {
    // LD_LIBRARY_PATH counts only when the process starts, so the check runs in a child.
    const script = `
      const { openDevice } = require(${JSON.stringify(join(__dirname, '../../dist/sdf.js'))});
      openDevice('libgmt0018.so').then(async (device) => {
        console.log((await device.info()).issuerName);
        await device.close();
      }, (error) => { console.log(error.code); process.exit(1); });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, LD_LIBRARY_PATH: dirname(MOCK_LIB) },
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('gmt0018 mock');
  });

  it('reports a bare name the system search does not find as not found', async () => {
    await expect(openDevice('libgmt0018-no-such-library.so')).rejects.toMatchObject({
      code: 'SDF_LIBRARY_NOT_FOUND',
      libPath: 'libgmt0018-no-such-library.so',
    });
  });
});

describe('hsm_symbols only maps standard functions onto functions the library defines', () => {
  it('refuses a standard function mapped onto another standard function', () => {
    expect(() => new SdfLibrary(MOCK_LIB, { symbols: { SDF_InternalSign_ECC: 'SDF_GenerateRandom' } })).toThrow(
      /SDF_InternalSign_ECC is mapped onto SDF_GenerateRandom, another standard function/,
    );
  });

  it('refuses a symbol the library imports or does not have (free, malloc, a typo)', () => {
    for (const symbol of ['free', 'malloc', 'EVP_DigestInit_ex', 'VENDOR_NoSuchSign']) {
      expect(() => new SdfLibrary(MOCK_LIB, { symbols: { SDF_InternalSign_ECC: symbol } })).toThrow(
        expect.objectContaining({ code: 'SDF_SYMBOL_MISSING', message: expect.stringContaining(symbol) }),
      );
    }
  });

  it('takes a function the library itself defines', () => {
    const library = new SdfLibrary(MOCK_LIB, { symbols: { SDF_HashInit: 'SDF_HashInit' } });
    expect(library.exports().missing).toEqual([]);
  });

  it('checks and loads a copy of a library under another name like the original', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gmt0018-copy-'));
    try {
      const copy = join(dir, 'libvendor.so');
      copyFileSync(MOCK_LIB, copy);
      expect(new SdfLibrary(copy).exports().present).toContain('SDF_InternalSign_ECC');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SdfSession', () => {
  it('declares every method in its own class (no methods patched in by other modules)', () => {
    // Loaded alone, without the sdf index that used to patch the ECC and SM4 methods in.
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { SdfSession } = require('../../src/sdf/session');
      for (const method of ['externalEncrypt', 'internalDecrypt', 'generateKeyWithKek', 'encrypt', 'calculateMac']) {
        expect(typeof SdfSession.prototype[method]).toBe('function');
      }
    });
  });
});
