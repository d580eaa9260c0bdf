// Signs and verifies with both example nodes: the mock cipher card (enable_hsm=true) and the
// software key (enable_hsm=false). Both hold the same key, so they print the same node ID.
//
//   npm run example
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createSigner,
  generatePrivateKey,
  importMockKey,
  loadSecurityConfig,
  parsePrivateKey,
  privateKeyToPem,
  sm2Verify,
  toFiscoSignature,
} from 'gmt0018';

const here = dirname(fileURLToPath(import.meta.url));
const softwareConfig = join(here, 'node-software', 'config.ini');
const hsmConfig = join(here, 'node-hsm', 'config.ini');

// One node key for both: written as conf/node.pem, and imported into the mock card.
const keyFile = join(here, 'node-software', 'conf', 'node.pem');
if (!existsSync(keyFile)) {
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, privateKeyToPem(generatePrivateKey()), { mode: 0o600 });
}
process.env.GMT0018_MOCK_KEYSTORE ??= join(here, '.mock-keystore');
const hsm = loadSecurityConfig(hsmConfig);
importMockKey({
  keystore: process.env.GMT0018_MOCK_KEYSTORE,
  index: hsm.keyIndex,
  password: hsm.password,
  privateKey: parsePrivateKey(readFileSync(keyFile), keyFile),
  overwrite: true,
});

const message = new TextEncoder().encode('transfer 100 from alice to bob');
for (const config of [softwareConfig, hsmConfig]) {
  const signer = await createSigner(config);
  try {
    const signature = await signer.sign(message);
    const valid = sm2Verify(signer.publicKey, message, signature);
    console.log(
      `${signer.backend.padEnd(8)} node ${signer.nodeId.slice(0, 16)}…  signature ${Buffer.from(signature).toString('hex').slice(0, 16)}…  verified: ${valid}`,
    );
    console.log(`         FISCO form (r||s||pub) is ${toFiscoSignature(signature, signer.publicKey).length} bytes`);
    if (!valid) process.exitCode = 1;
  } finally {
    await signer.close();
  }
}
