// The software backend from CommonJS, with nothing but the package installed: a new key in a
// throw-away node folder, a config.ini with the HSM off, then sign and verify.
//
//   node examples/quick-start.cjs
const { mkdtempSync, mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { createSigner, generatePrivateKey, privateKeyToPem, sm2Verify } = require('gmt0018');

async function main() {
  const node = mkdtempSync(join(tmpdir(), 'gmt0018-quick-start-'));
  try {
    mkdirSync(join(node, 'conf'));
    writeFileSync(join(node, 'conf', 'node.pem'), privateKeyToPem(generatePrivateKey()), { mode: 0o600 });
    writeFileSync(join(node, 'config.ini'), '[security]\nenable_hsm=false\nprivate_key_path=conf/node.pem\n');

    const signer = await createSigner(join(node, 'config.ini'));
    try {
      const message = Buffer.from('hello from require()');
      const signature = await signer.sign(message);
      const valid = sm2Verify(signer.publicKey, message, signature);
      console.log(`require: ${signer.backend} node ${signer.nodeId.slice(0, 16)}… verified: ${valid}`);
      if (!valid) process.exitCode = 1;
    } finally {
      await signer.close();
    }
  } finally {
    rmSync(node, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`${error.code ?? error.name}: ${error.message}`);
  process.exitCode = 1;
});
