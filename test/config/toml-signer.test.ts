import { rmSync } from 'node:fs';
import { createSigner } from '../../src/signer';
import { generatePrivateKey, publicKeyFromPrivateKey } from '../../src/sm2';
import { writeJavaSdkApp } from '../helpers/java-sdk-app';
import { MOCK_LIB, TempKeystore } from '../helpers/mock-card';
import { smCryptoOracle } from '../helpers/oracles';

const PASSWORD = 'Card#Pw0rd';

describe('createSigner on a java-sdk config.toml', () => {
  const keystore = new TempKeystore();
  const cardKey = generatePrivateKey();
  const folders: string[] = [];

  beforeAll(() => {
    keystore.import(2, PASSWORD, cardKey);
    keystore.activate();
  });
  afterAll(() => {
    keystore.remove();
    folders.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  it('signs with the mock card named by [cryptoMaterial]; sm-crypto verifies', async () => {
    const { dir, configPath } = writeJavaSdkApp({
      cryptoMaterial: `useSMCrypto = "true"
enableHsm = "true"
hsmLibPath = "${MOCK_LIB}"
hsmKeyIndex = "2"
hsmPassword = "${PASSWORD}"`,
    });
    folders.push(dir);
    const signer = await createSigner(configPath);
    try {
      expect(signer.backend).toBe('hsm');
      expect(signer.publicKey).toEqual(publicKeyFromPrivateKey(cardKey));
      const message = Buffer.from('signed through config.toml');
      const signature = await signer.sign(message);
      expect(smCryptoOracle.verify(signer.publicKey, message, signature)).toBe(true);
      expect(await signer.verify(message, signature)).toBe(true);
    } finally {
      await signer.close();
    }
  });

  it('signs with the [account] PEM file when the HSM is off', async () => {
    const accountKey = generatePrivateKey();
    const { dir } = writeJavaSdkApp({
      cryptoMaterial: 'useSMCrypto = "true"',
      account: 'accountFilePath = "conf/account.pem"',
      accountKey: { privateKey: accountKey, file: 'conf/account.pem' },
    });
    folders.push(dir);
    const before = process.cwd();
    process.chdir(dir);
    const signer = await createSigner('conf/config.toml').finally(() => process.chdir(before));
    try {
      expect(signer.backend).toBe('software');
      expect(signer.publicKey).toEqual(publicKeyFromPrivateKey(accountKey));
      const message = Buffer.from('software account');
      expect(smCryptoOracle.verify(signer.publicKey, message, await signer.sign(message))).toBe(true);
    } finally {
      await signer.close();
    }
  });
});
