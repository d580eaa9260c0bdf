// Shared set-up of the example nodes: one node key, kept as the software node's conf/node.pem and
// imported into the mock cipher card at the HSM node's key_index with its password.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, loadSecurityConfig, parsePrivateKey, privateKeyToPem } from 'gmt0018';
import { importMockKey } from 'gmt0018/mock';

const examples = dirname(dirname(fileURLToPath(import.meta.url)));
export const softwareConfig = join(examples, 'node-software', 'config.ini');
export const hsmConfig = join(examples, 'node-hsm', 'config.ini');

function ensureNodeKey(keyFile) {
  mkdirSync(dirname(keyFile), { recursive: true });
  try {
    writeFileSync(keyFile, privateKeyToPem(generatePrivateKey()), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
  return parsePrivateKey(readFileSync(keyFile), keyFile);
}

/** Makes both example nodes usable; returns the HSM node's SecurityConfig. */
export function provisionExampleNodes() {
  const privateKey = ensureNodeKey(loadSecurityConfig(softwareConfig).privateKeyPath);
  // The mock card reads its keystore folder from this variable when the device is opened.
  process.env.GMT0018_MOCK_KEYSTORE ??= join(examples, '.mock-keystore');
  const hsm = loadSecurityConfig(hsmConfig);
  importMockKey({
    keystore: process.env.GMT0018_MOCK_KEYSTORE,
    index: hsm.keyIndex,
    password: hsm.password,
    privateKey,
    overwrite: true,
  });
  privateKey.fill(0);
  return hsm;
}
