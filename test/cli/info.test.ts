import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { SDF_FUNCTION_NAMES } from '../../src/sdf';
import { MOCK_LIB, mockVariantLib, TempKeystore } from '../helpers/mock-card';
import { writeNodeFolder } from '../helpers/node-config';

// A vendor-like library that exports only half of the functions, one of them under another name.
const HALF_SOURCE = `
#include <string.h>
typedef struct { unsigned char issuer[40], name[16], serial[16]; unsigned int v[8]; } info_t;
static int token;
int SDF_OpenDevice(void **h) { *h = &token; return 0; }
int SDF_CloseDevice(void *h) { (void)h; return 0; }
int SDF_OpenSession(void *d, void **s) { (void)d; *s = &token; return 0; }
int SDF_CloseSession(void *s) { (void)s; return 0; }
int SDF_GetDeviceInfo(void *s, info_t *i) {
  (void)s; memset(i, 0, sizeof(*i));
  memcpy(i->issuer, "Half Vendor", 11); memcpy(i->name, "HalfCard", 8); memcpy(i->serial, "H-0001", 6);
  i->v[0] = 0x20000; i->v[1] = 1; i->v[2] = 0x20200; i->v[3] = 256; i->v[4] = 0x401; i->v[5] = 1; i->v[6] = 4096;
  return 0;
}
int SDF_GenerateRandom(void *s, unsigned int n, unsigned char *o) { (void)s; memset(o, 7, n); return 0; }
int SDF_ExportSignPublicKey_ECC(void *s, unsigned int i, void *k) { (void)s; (void)i; (void)k; return 0; }
int VENDOR_Sign(void *s, unsigned int i, unsigned char *d, unsigned int n, void *sig) {
  (void)s; (void)i; (void)d; (void)n; (void)sig; return 0;
}
`;
const HALF_PRESENT = [
  'SDF_OpenDevice',
  'SDF_CloseDevice',
  'SDF_OpenSession',
  'SDF_CloseSession',
  'SDF_GetDeviceInfo',
  'SDF_GenerateRandom',
  'SDF_ExportSignPublicKey_ECC',
  'SDF_InternalSign_ECC',
];

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const status = await main(args);
    return { status, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('gmt0018 info', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-info-'));
  const half = join(dir, 'libhalf.so');
  const keystore = new TempKeystore();

  beforeAll(() => {
    writeFileSync(join(dir, 'half.c'), HALF_SOURCE);
    execFileSync('cc', ['-shared', '-fPIC', '-o', half, join(dir, 'half.c')]);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    keystore.remove();
  });

  it('decodes the mock device and finds every function it exports', async () => {
    const result = await run(['info', '--lib', MOCK_LIB, '--json']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.device).toMatchObject({
      issuerName: 'gmt0018 mock',
      deviceName: 'MockSDF',
      hashAlgorithms: ['SGD_SM3'],
    });
    expect(report.functions.present).toEqual(
      expect.arrayContaining(['SDF_ExternalEncrypt_ECC', 'SDF_InternalSign_ECC']),
    );
    expect(report.library).toBe(MOCK_LIB);
    expect(report.functions.missing).toEqual([]);
  });

  it('reads the 32-byte-field build with --profile bits256', async () => {
    const result = await run(['info', '--lib', mockVariantLib('bits256'), '--profile', 'bits256']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('ecc fields 32 bytes');
    expect(result.stdout).toContain('MOCK0000000001');
  });

  it('reports present and missing functions of a library with half the symbols, with a symbol map', async () => {
    const result = await run(['info', '--lib', half, '--symbols', 'SDF_InternalSign_ECC=VENDOR_Sign', '--json']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.device).toMatchObject({
      issuerName: 'Half Vendor',
      deviceName: 'HalfCard',
      deviceSerial: 'H-0001',
      asymmetricAlgorithms: ['SGD_SM2_1'],
      symmetricAlgorithms: ['SGD_SM4_ECB'],
      bufferSize: 4096,
    });
    expect([...report.functions.present].sort()).toEqual([...HALF_PRESENT].sort());
    expect([...report.functions.missing].sort()).toEqual(
      SDF_FUNCTION_NAMES.filter((name) => !HALF_PRESENT.includes(name)).sort(),
    );

    const text = await run(['info', '--lib', half]);
    expect(text.stdout).toMatch(/missing\s+SDF_InternalSign_ECC/);
    expect(text.stdout).toMatch(/present\s+SDF_GenerateRandom/);
  });

  it('still lists the functions when the device cannot be opened, and exits 3', async () => {
    const source = join(dir, 'noopen.c');
    const lib = join(dir, 'libnoopen.so');
    writeFileSync(source, 'int SDF_HashInit(void) { return 0; }\nint SDF_HashUpdate(void) { return 0; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', lib, source]);
    const result = await run(['info', '--lib', lib]);
    expect(result.status).toBe(3);
    expect(result.stdout).toContain('device:     not available');
    expect(result.stdout).toMatch(/present\s+SDF_HashInit/);
    expect(result.stdout).toMatch(/missing\s+SDF_OpenDevice/);
    expect(result.stderr).toContain('SDF_SYMBOL_MISSING');
  });

  it('takes the library and its profile from a node config.ini with --config', async () => {
    const node = writeNodeFolder({
      security: `enable_hsm=true\nkey_index=1\nhsm_lib_path=${mockVariantLib('algid')}\nhsm_profile=bits256-algid\nhsm_ecc_field_bytes=64`,
    });
    try {
      const result = await run(['info', '--config', node.configPath, '--json']);
      expect(result.status).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report.library).toBe(mockVariantLib('algid'));
      expect(report.options).toMatchObject({ eccFieldBytes: 64, internalSignWithAlgId: true });
      expect(report.device.issuerName).toBe('gmt0018 mock');
    } finally {
      rmSync(node.dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown profile as bad usage', async () => {
    const result = await run(['info', '--lib', MOCK_LIB, '--profile', 'nonsense']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('standard');
  });
});
