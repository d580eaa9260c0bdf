import { inspect } from 'node:util';
import {
  createSecurityConfig,
  DEFAULT_HSM_LIB_PATH,
  type HsmConfigInput,
  type SecurityConfig,
  type SoftwareConfigInput,
} from '../../src/config';
import { createSigner } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey } from '../../src/sm2';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { smCryptoOracle } from '../helpers/oracles';
import { expectNoSecret } from '../helpers/secrets';

const PASSWORD = 'Card#Pw0rd';
const fieldsOf = (cfg: SecurityConfig): Record<string, unknown> => ({ ...cfg, password: cfg.password });

describe('createSecurityConfig fills the defaults of the two plain shapes', () => {
  it('an HSM key: library, password and enc key index default, no key file', () => {
    const input: HsmConfigInput = { enableHsm: true, keyIndex: 3 };
    expect(fieldsOf(createSecurityConfig(input))).toEqual({
      enableHsm: true,
      keyIndex: 3,
      encKeyIndex: 3,
      hsmLibPath: DEFAULT_HSM_LIB_PATH,
      password: '',
      privateKeyPath: '',
    });
  });

  it('an HSM key keeps what is given, and its password to itself', () => {
    const cfg = createSecurityConfig({
      enableHsm: true,
      keyIndex: 1,
      hsmLibPath: '/opt/libsdf.so',
      password: PASSWORD,
    });
    expect(cfg.hsmLibPath).toBe('/opt/libsdf.so');
    expect(cfg.password).toBe(PASSWORD);
    expectNoSecret(cfg, [PASSWORD]);
    expect(inspect(cfg)).toContain('<redacted>');
  });

  it('a software key: enableHsm defaults to false', () => {
    const input: SoftwareConfigInput = { privateKeyPath: '/keys/node.pem' };
    expect(fieldsOf(createSecurityConfig(input))).toEqual({
      enableHsm: false,
      hsmLibPath: DEFAULT_HSM_LIB_PATH,
      password: '',
      privateKeyPath: '/keys/node.pem',
    });
  });

  it('a software key without its file is a TypeError naming privateKeyPath', () => {
    expect(() => createSecurityConfig({ enableHsm: false } as unknown as SoftwareConfigInput)).toThrow(
      /privateKeyPath is required/,
    );
    expect(() => createSecurityConfig({} as unknown as SoftwareConfigInput)).toThrow(/privateKeyPath/);
  });
});

/** Checked when the tests are type-checked (npm run typecheck, in CI), not at run time. */
export function shapesStayApart(): unknown[] {
  // @ts-expect-error an HSM key needs its index
  const noIndex: HsmConfigInput = { enableHsm: true };
  // @ts-expect-error a software key needs its file
  const noFile: SoftwareConfigInput = {};
  // @ts-expect-error a software key has no key index
  const mixed: SoftwareConfigInput = { privateKeyPath: '/k.pem', keyIndex: 1 };
  return [noIndex, noFile, mixed];
}

describe('createSigner takes a plain HSM input', () => {
  const keystore = new TempKeystore();
  const privateKey = generatePrivateKey();
  beforeAll(() => {
    keystore.import(1, PASSWORD, privateKey);
    keystore.activate();
  });
  afterAll(() => keystore.remove());

  it('without privateKeyPath, and its signature verifies', async () => {
    const signer = await createSigner({ enableHsm: true, keyIndex: 1, hsmLibPath: MOCK_LIB, password: PASSWORD });
    try {
      expect(signer.backend).toBe('hsm');
      expect(signer.publicKey).toEqual(publicKeyFromPrivateKey(privateKey));
      const message = Buffer.from('plain input');
      expect(smCryptoOracle.verify(signer.publicKey, message, await signer.sign(message))).toBe(true);
    } finally {
      await signer.close();
    }
  });

  it('with the default library path filled in', async () => {
    await expect(createSigner({ enableHsm: true, keyIndex: 1 })).rejects.toMatchObject({
      code: 'SDF_LIBRARY_NOT_FOUND',
      message: expect.stringContaining(DEFAULT_HSM_LIB_PATH),
    });
  });
});
