// The software backend from an ES module: the same steps as quick-start.cjs, through `import`.
//
//   node examples/quick-start.mjs
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, generatePrivateKey, privateKeyToPem, sm2Verify } from 'gmt0018';

const node = mkdtempSync(join(tmpdir(), 'gmt0018-quick-start-'));
try {
  mkdirSync(join(node, 'conf'));
  writeFileSync(join(node, 'conf', 'node.pem'), privateKeyToPem(generatePrivateKey()), { mode: 0o600 });
  writeFileSync(join(node, 'config.ini'), '[security]\nenable_hsm=false\nprivate_key_path=conf/node.pem\n');

  const signer = await createSigner(join(node, 'config.ini'));
  try {
    const message = new TextEncoder().encode('hello from import');
    const signature = await signer.sign(message);
    const valid = sm2Verify(signer.publicKey, message, signature);
    console.log(`import: ${signer.backend} node ${signer.nodeId.slice(0, 16)}… verified: ${valid}`);
    if (!valid) process.exitCode = 1;
  } finally {
    await signer.close();
  }
} finally {
  rmSync(node, { recursive: true, force: true });
}
