// Signs and verifies with both example nodes: the mock cipher card (enable_hsm=true) and the
// software key (enable_hsm=false). Both hold the same key, so they print the same node ID.
//
//   npm run example
import { createSigner, sm2Verify, toFiscoSignature } from 'gmt0018';
import { hsmConfig, provisionExampleNodes, softwareConfig } from './lib/example-nodes.mjs';

provisionExampleNodes();

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
