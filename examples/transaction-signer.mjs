// An SDK-style transaction signer: the SDK hashes the encoded transaction itself, the signer signs
// that 32-byte hash (the cipher card's SDF_InternalSign_ECC takes exactly such a digest), and the
// result goes on the wire in FISCO's 128-byte form r||s||pub.
//
//   node examples/transaction-signer.mjs [path/to/config.ini]   (default: the HSM example node)
import { createSigner, fromFiscoSignature, sm2VerifyDigest, sm3, toFiscoSignature } from 'gmt0018';
import { hsmConfig, provisionExampleNodes } from './lib/example-nodes.mjs';

const hex = (bytes) => Buffer.from(bytes).toString('hex');

// Provisions the example nodes (mock card, software key); a config of your own needs none of it.
provisionExampleNodes();
const configPath = process.argv[2] ?? hsmConfig;

// A real SDK encodes the transaction its own way (Tars, RLP, ABI); any encoding gives a 32-byte hash.
const transaction = {
  chainId: 'chain0',
  groupId: 'group0',
  nonce: '42',
  to: '0x5e0b0e8d8e30f0d56a8a8c6b1b4c2d7f3a9e1c20',
  input: 'transfer(bob,100)',
};
const txHash = sm3(new TextEncoder().encode(JSON.stringify(transaction)));

const signer = await createSigner(configPath);
try {
  const signature = await signer.signDigest(txHash);
  const wire = toFiscoSignature(signature, signer.publicKey);

  // What a node does with it: split r||s from the public key, check the key, verify over the hash.
  const received = fromFiscoSignature(wire);
  const sameKey = hex(received.publicKey) === signer.nodeId;
  const valid = sameKey && sm2VerifyDigest(received.publicKey, txHash, received.signature);

  console.log(`backend:   ${signer.backend}`);
  console.log(`node id:   ${signer.nodeId}`);
  console.log(`tx hash:   ${hex(txHash)}`);
  console.log(`signature: ${hex(wire)} (${wire.length} bytes, r||s||pub)`);
  console.log(`verified:  ${valid}`);
  if (!valid) process.exitCode = 1;
} finally {
  await signer.close();
}
