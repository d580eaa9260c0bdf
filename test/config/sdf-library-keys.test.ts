import { rmSync } from 'node:fs';
import { ConfigError, loadSecurityConfig, parseSecurityConfig } from '../../src/config';
import { resolveSdfLibraryOptions, SDF_PROFILES, SdfLibrary } from '../../src/sdf';
import { createSigner } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey } from '../../src/sm2';
import { mockVariantLib, TempKeystore } from '../helpers/mock-card';
import { writeNodeFolder } from '../helpers/node-config';
import { smCryptoOracle } from '../helpers/oracles';

const HSM = 'enable_hsm=true\nkey_index=1\npassword=pw';

function security(extra: string) {
  return parseSecurityConfig(`[security]\n${HSM}\n${extra}\n`, { baseDir: '/node' });
}

describe('[security] keys for vendor SDF libraries', () => {
  it('reads the profile and the overrides', () => {
    const config = security(
      'hsm_profile=bits256\nhsm_sign_with_alg_id=true\n' +
        'hsm_symbols=SDF_InternalSign_ECC = VENDOR_Sign, SDF_HashInit=V_HashInit\nhsm_preload=lib/dep.so:libz.so:/opt/x.so',
    );
    expect(config.hsmLibrary).toEqual({
      profile: 'bits256',
      internalSignWithAlgId: true,
      symbols: { SDF_InternalSign_ECC: 'VENDOR_Sign', SDF_HashInit: 'V_HashInit' },
      // relative paths with a "/" resolve against the config folder, bare names go to the loader
      preload: ['/node/lib/dep.so', 'libz.so', '/opt/x.so'],
    });
    expect(Object.isFrozen(config.hsmLibrary?.symbols)).toBe(true);
    expect(JSON.parse(JSON.stringify(config)).hsmLibrary.profile).toBe('bits256');
  });

  it('leaves hsmLibrary out when no extension key is set', () => {
    expect(security('').hsmLibrary).toBeUndefined();
  });

  it.each([
    ['hsm_profile=vendorx', 'hsm_profile', 'bits256'],
    ['hsm_ecc_field_bytes=48', 'hsm_ecc_field_bytes', '64'],
    ['hsm_sign_with_alg_id=yes', 'hsm_sign_with_alg_id', 'true'],
    ['hsm_symbols=SDF_InternalSign_ECC', 'hsm_symbols', 'SDF_Name=VendorSymbol'],
    ['hsm_symbols=SDF_A=B,SDF_A=C', 'hsm_symbols', 'mapped twice'],
    ['hsm_preload=a.so::b.so', 'hsm_preload', 'empty path'],
  ])('refuses %s naming the key', (line, key, expected) => {
    let error: unknown;
    try {
      security(line);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ key, line: 5 });
    expect((error as Error).message).toContain(expected);
  });

  it('merges profile, config and explicit options, later layers winning', () => {
    expect(resolveSdfLibraryOptions()).toEqual({ ...SDF_PROFILES.standard, profile: 'standard' });
    const merged = resolveSdfLibraryOptions(
      { profile: 'algid', symbols: { SDF_A: 'X', SDF_B: 'Y' }, preload: ['a.so'] },
      { eccFieldBytes: 32, symbols: { SDF_B: 'Z' } },
    );
    expect(merged).toEqual({
      profile: 'algid',
      eccFieldBytes: 32,
      internalSignWithAlgId: true,
      symbols: { SDF_A: 'X', SDF_B: 'Z' },
      preload: ['a.so'],
    });
    expect(() => resolveSdfLibraryOptions({ profile: 'nope' })).toThrow(/standard, bits256, algid/);
    expect(() => new SdfLibrary(mockVariantLib('standard'), { symbols: { SDF_InternalSign_Ecc: 'X' } })).toThrow(
      /SDF_InternalSign_Ecc/,
    );
  });
});

describe.each([
  ['standard', 'standard', 'hsm_profile=standard'],
  ['bits256', '32-byte fields by profile', 'hsm_profile=bits256'],
  ['bits256', '32-byte fields by override', 'hsm_ecc_field_bytes=32'],
  ['algid', 'uiAlgID sign by profile', 'hsm_profile=algid'],
  ['algid', 'uiAlgID sign by override', 'hsm_sign_with_alg_id=true'],
  ['strict', 'the strictest library, one call at a time', 'hsm_thread_model=serial\nhsm_kek_algorithm=SGD_SM4_CBC'],
] as const)('signing through config.ini against the %s mock (%s)', (variant, _label, line) => {
  const keystore = new TempKeystore();
  const privateKey = generatePrivateKey();
  const publicKey = publicKeyFromPrivateKey(privateKey);
  let node: { dir: string; configPath: string };

  beforeAll(() => {
    keystore.import(1, 'pw', privateKey);
    keystore.activate();
    node = writeNodeFolder({ security: `${HSM}\nhsm_lib_path=${mockVariantLib(variant)}\n${line}` });
  });

  afterAll(() => {
    keystore.remove();
    rmSync(node.dir, { recursive: true, force: true });
  });

  it('signs with the card; sm-crypto verifies', async () => {
    const signer = await createSigner(loadSecurityConfig(node.configPath));
    try {
      expect(signer.publicKey).toEqual(publicKey);
      const message = Buffer.from(`config selects ${variant}`);
      expect(smCryptoOracle.verify(publicKey, message, await signer.sign(message))).toBe(true);
    } finally {
      await signer.close();
    }
  });
});

// The binding allocates every struct for 64-byte fields, so a profile that does not match the
// library never lets the library write past a buffer; the wrong layout shows as SDF_BAD_RESPONSE.
it.each([
  ['bits256', 'standard'],
  ['standard', 'bits256'],
] as const)('fails with SDF_BAD_RESPONSE when the %s library is read with the %s profile', async (variant, profile) => {
  const keystore = new TempKeystore();
  keystore.import(1, 'pw', generatePrivateKey());
  keystore.activate();
  const node = writeNodeFolder({ security: `${HSM}\nhsm_lib_path=${mockVariantLib(variant)}\nhsm_profile=${profile}` });
  try {
    await expect(createSigner(loadSecurityConfig(node.configPath))).rejects.toMatchObject({
      code: 'SDF_BAD_RESPONSE',
      fn: 'SDF_ExportSignPublicKey_ECC',
    });
  } finally {
    keystore.remove();
    rmSync(node.dir, { recursive: true, force: true });
  }
});

it('loads hsm_preload libraries first, resolved against the config folder, and names a missing one', async () => {
  const node = writeNodeFolder({
    security: `${HSM}\nhsm_lib_path=${mockVariantLib('standard')}\nhsm_preload=vendor/libdep.so`,
  });
  try {
    const config = loadSecurityConfig(node.configPath);
    const missing = `${node.dir}/vendor/libdep.so`;
    expect(config.hsmLibrary?.preload).toEqual([missing]);
    await expect(createSigner(config)).rejects.toMatchObject({ code: 'SDF_LIBRARY_NOT_FOUND', libPath: missing });
  } finally {
    rmSync(node.dir, { recursive: true, force: true });
  }
});

it('merges the symbol map of config.ini with the one createSigner is given, function by function', async () => {
  const keystore = new TempKeystore();
  keystore.import(1, 'pw', generatePrivateKey());
  keystore.activate();
  const node = writeNodeFolder({
    security: `${HSM}\nhsm_lib_path=${mockVariantLib('standard')}\nhsm_symbols=SDF_InternalSign_ECC=VENDOR_NoSuchSign`,
  });
  try {
    const config = loadSecurityConfig(node.configPath);
    const library = { symbols: { SDF_HashInit: 'SDF_HashInit' } };
    // The config's mapping must survive the caller's: the mock has no VENDOR_NoSuchSign.
    await expect(createSigner(config, { library })).rejects.toMatchObject({
      code: 'SDF_SYMBOL_MISSING',
      message: expect.stringContaining('VENDOR_NoSuchSign'),
    });
  } finally {
    keystore.remove();
    rmSync(node.dir, { recursive: true, force: true });
  }
});
