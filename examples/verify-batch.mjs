// Verifies a batch of FISCO signatures (r||s||pub) at once, the way a node checks a block's
// transactions: each one against its own message and the public key it carries. One signature in
// the batch is tampered with on purpose and must be the only one rejected.
//
//   node examples/verify-batch.mjs [count]   (default 16)
import { createSigner, fromFiscoSignature, sm2Verify, toFiscoSignature } from 'gmt0018';
import { hsmConfig, provisionExampleNodes } from './lib/example-nodes.mjs';

const count = Number(process.argv[2] ?? 16);
if (!Number.isInteger(count) || count < 2) throw new RangeError('count must be an integer of at least 2');

provisionExampleNodes();
const signer = await createSigner(hsmConfig);
let batch;
try {
  const messages = Array.from({ length: count }, (_, i) => new TextEncoder().encode(`transaction #${i}`));
  // The HSM signer keeps a pool of device sessions, so these signatures are made concurrently.
  const signatures = await Promise.all(messages.map((message) => signer.sign(message)));
  batch = messages.map((message, i) => ({ message, wire: toFiscoSignature(signatures[i], signer.publicKey) }));
} finally {
  await signer.close();
}

const tampered = Math.floor(count / 2);
batch[tampered].wire[0] ^= 0x01;

const rejected = [];
for (const [i, { message, wire }] of batch.entries()) {
  const { signature, publicKey } = fromFiscoSignature(wire);
  if (!sm2Verify(publicKey, message, signature)) rejected.push(i);
}

console.log(`verified ${count - rejected.length} of ${count} signatures`);
console.log(`rejected: ${rejected.map((i) => `#${i}`).join(', ') || 'none'} (tampered: #${tampered})`);
if (rejected.length !== 1 || rejected[0] !== tampered) process.exitCode = 1;
