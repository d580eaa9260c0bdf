// The strict mock card (native-bindings/mock-sdf built with -DMOCK_STRICT): its C self-test, and
// what a binding meets through koffi: the fixed 419-byte ECCCipher cleared whole, one open device,
// capacities read from in/out lengths, refused lengths, the stall hook. The aborts on overlapping
// calls are checked by the self-test in child processes (an abort here would take jest down).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import koffi from 'koffi';
import { MOCK_ROOT, mockControl, mockVariantLib } from '../helpers/mock-card';

const LIB = mockVariantLib('strict');
const SELFTEST = join(MOCK_ROOT, 'strict', 'selftest');
const describeBuilt = existsSync(LIB) && existsSync(SELFTEST) ? describe : describe.skip;

const SDR_OK = 0;
const SDR_OPENDEVICE = 0x01000005;
const SDR_ALGNOTSUPPORT = 0x01000009;
const SDR_NOBUFFER = 0x0100001c;
const SDR_INARGERR = 0x0100001d;
const SGD_SM2 = 0x00020100;
const SGD_SM2_3 = 0x00020800;
const SGD_SM3 = 0x00000001;

const ECC_CIPHER_SIZE = 419;
const C_OFFSET = 164;
const L_OFFSET = 160;

function loadStrict() {
  const lib = koffi.load(LIB);
  const handle = 'void *';
  const outHandle = koffi.out(koffi.pointer('void *'));
  const outU32 = koffi.inout(koffi.pointer('uint32_t'));
  return {
    openDevice: lib.func('SDF_OpenDevice', 'int', [outHandle]),
    closeDevice: lib.func('SDF_CloseDevice', 'int', [handle]),
    openSession: lib.func('SDF_OpenSession', 'int', [handle, outHandle]),
    closeSession: lib.func('SDF_CloseSession', 'int', [handle]),
    generateRandom: lib.func('SDF_GenerateRandom', 'int', [handle, 'uint32_t', 'void *']),
    generateKeyPair: lib.func('SDF_GenerateKeyPair_ECC', 'int', [handle, 'uint32_t', 'uint32_t', 'void *', 'void *']),
    externalEncrypt: lib.func('SDF_ExternalEncrypt_ECC', 'int', [
      handle,
      'uint32_t',
      'void *',
      'void *',
      'uint32_t',
      'void *',
    ]),
    hashInit: lib.func('SDF_HashInit', 'int', [handle, 'uint32_t', 'void *', 'void *', 'uint32_t']),
    hashUpdate: lib.func('SDF_HashUpdate', 'int', [handle, 'void *', 'uint32_t']),
    hashFinal: lib.func('SDF_HashFinal', 'int', [handle, 'void *', outU32]),
  };
}

describeBuilt('strict mock SDF card', () => {
  test('C self-test passes (strict)', () => {
    const result = spawnSync(SELFTEST, [], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`selftest strict failed:\n${result.stdout}\n${result.stderr}`);
    expect(result.stdout).toMatch(/^ok: \d+ checks, 0 failed$/m);
  }, 90_000);

  describe('through koffi', () => {
    const control = mockControl(LIB);
    let sdf: ReturnType<typeof loadStrict>;
    let device: unknown;
    let session: unknown;

    beforeAll(() => {
      sdf = loadStrict();
      control.setKeystore(''); // no keys needed
      const dev = [null];
      expect(sdf.openDevice(dev)).toBe(SDR_OK);
      device = dev[0];
      const ses = [null];
      expect(sdf.openSession(device, ses)).toBe(SDR_OK);
      session = ses[0];
    });

    afterEach(() => control.reset());

    afterAll(() => {
      expect(sdf.closeDevice(device)).toBe(SDR_OK);
      control.setKeystore(null);
      expect(control.counters().openDevices).toBe(0);
    });

    it('allows one open device per process', () => {
      expect(sdf.openDevice([null])).toBe(SDR_OPENDEVICE);
      expect(control.counters().openDevices).toBe(1);
    });

    it('clears the whole 419-byte ECCCipher, then writes L bytes of C', () => {
      const publicKey = Buffer.alloc(132);
      const privateKey = Buffer.alloc(68);
      expect(sdf.generateKeyPair(session, SGD_SM2, 256, publicKey, privateKey)).toBe(SDR_ALGNOTSUPPORT);
      expect(sdf.generateKeyPair(session, SGD_SM2_3, 256, publicKey, privateKey)).toBe(SDR_OK);
      const cipher = Buffer.alloc(600, 0xee);
      expect(sdf.externalEncrypt(session, SGD_SM2_3, publicKey, Buffer.alloc(16, 1), 16, cipher)).toBe(SDR_OK);
      expect(cipher.readUInt32LE(L_OFFSET)).toBe(16);
      expect(cipher.subarray(C_OFFSET + 16, ECC_CIPHER_SIZE).every((b) => b === 0)).toBe(true);
      expect(cipher.subarray(ECC_CIPHER_SIZE).every((b) => b === 0xee)).toBe(true);
    });

    it('refuses random above 256 bytes, an empty hash update and a hash capacity below 32', () => {
      expect(sdf.generateRandom(session, 257, Buffer.alloc(257))).toBe(SDR_INARGERR);
      expect(sdf.generateRandom(session, 256, Buffer.alloc(256))).toBe(SDR_OK);
      expect(sdf.hashInit(session, SGD_SM3, null, null, 0)).toBe(SDR_OK);
      expect(sdf.hashUpdate(session, Buffer.from('abc'), 0)).toBe(SDR_INARGERR);
      expect(sdf.hashUpdate(session, Buffer.from('abc'), 3)).toBe(SDR_OK);
      const hash = Buffer.alloc(32);
      const length = [0];
      expect(sdf.hashFinal(session, hash, length)).toBe(SDR_NOBUFFER);
      length[0] = 32;
      expect(sdf.hashFinal(session, hash, length)).toBe(SDR_OK);
      expect(hash.toString('hex')).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    });

    it('stalls the chosen calls (setStall), and reset clears stalls', () => {
      const timed = () => {
        const t0 = performance.now();
        expect(sdf.generateRandom(session, 16, Buffer.alloc(16))).toBe(SDR_OK);
        return performance.now() - t0;
      };
      control.setStall('SDF_GenerateRandom', 200, 1, 1);
      expect(timed()).toBeLessThan(100);
      expect(timed()).toBeGreaterThanOrEqual(199);
      expect(timed()).toBeLessThan(100);
      control.setStall('GenerateRandom', 200);
      control.reset();
      expect(timed()).toBeLessThan(100);
    });

    it('lets calls one after another through the serial check', () => {
      control.setSerialCheck(true);
      expect(sdf.generateRandom(session, 16, Buffer.alloc(16))).toBe(SDR_OK);
      const ses = [null];
      expect(sdf.openSession(device, ses)).toBe(SDR_OK);
      expect(sdf.generateRandom(ses[0], 16, Buffer.alloc(16))).toBe(SDR_OK);
      expect(sdf.closeSession(ses[0])).toBe(SDR_OK);
      control.setSerialCheck(false);
    });
  });
});
