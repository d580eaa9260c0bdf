import { inspect } from 'node:util';
import { parseSecurityConfig } from '../src/config';
import { createSigner, SoftwareSigner } from '../src/signer';
import { bytesToHex, generatePrivateKey } from '../src/sm2';
import { MOCK_LIB, TempKeystore } from './helpers/mock-card';

/** Every object the library hands back, rendered every way a user might log it. */
function renderings(value: unknown): string[] {
  return [
    inspect(value, { depth: 10 }),
    inspect(value, { depth: 10, showHidden: true, getters: true }),
    JSON.stringify(value) ?? '',
    String(value),
    `${Object.entries(value as object)}`,
  ];
}

const PASSWORD = 'Sup3r#;s3cret pw';
const privateKey = generatePrivateKey();
const privateHex = bytesToHex(privateKey);
const privateDecimalRun = Array.from(privateKey.subarray(0, 6)).join(', ');

function expectClean(value: unknown): void {
  for (const text of renderings(value)) {
    expect(text).not.toContain(PASSWORD);
    expect(text.toLowerCase()).not.toContain(privateHex);
    expect(text).not.toContain(privateDecimalRun);
  }
}

describe('no secret in what the library returns', () => {
  const keystore = new TempKeystore();
  beforeAll(() => keystore.import(1, PASSWORD, privateKey));
  afterAll(() => keystore.remove());

  it('a SecurityConfig keeps its password readable but never shows it', () => {
    const config = parseSecurityConfig(`[security]\nenable_hsm=true\nkey_index=1\npassword=${PASSWORD}\n`);
    expect(config.password).toBe(PASSWORD);
    expectClean(config);
  });

  it('a software signer never shows its private key, and forgets it on close', async () => {
    const signer = SoftwareSigner.fromPrivateKey(privateKey);
    expectClean(signer);
    await signer.close();
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'SIGNER_CLOSED' });
  });

  it('an HSM signer shows neither the password nor the key', async () => {
    const config = parseSecurityConfig(
      `[security]\nenable_hsm=true\nhsm_lib_path=${MOCK_LIB}\nkey_index=1\npassword=${PASSWORD}\n`,
    );
    const signer = await createSigner(config);
    try {
      expectClean(signer);
    } finally {
      await signer.close();
    }
  });
});
