// Signs with keys inside a PKCS#11 token: SoftHSMv2, set up here in a temporary folder with a
// P-256, a secp256k1 and an Ed25519 key (made inside the token by OpenSC's pkcs11-tool).
// Every signature is checked with node:crypto, independently of gmt0018.
//
//   apt-get install softhsm2 opensc     # once
//   npm run build && node examples/pkcs11-softhsm.mjs
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner } from 'gmt0018';

const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find(existsSync);
if (!MODULE) throw new Error('SoftHSMv2 is not installed (apt-get install softhsm2 opensc)');

const TOKEN = 'example-token';
const PIN = '1234';
const dir = mkdtempSync(join(tmpdir(), 'gmt0018-softhsm-example-'));
try {
  mkdirSync(join(dir, 'tokens'));
  // SoftHSM reads its configuration when the module is initialised; in a plain Node process,
  // process.env is the real environment.
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  writeFileSync(process.env.SOFTHSM2_CONF, `directories.tokendir = ${join(dir, 'tokens')}\nlog.level = ERROR\n`);
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'] };
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '87654321'],
    quiet,
  );
  const keys = [
    ['EC:prime256v1', 'p256-key', '01', 'P-256'],
    ['EC:secp256k1', 'k256-key', '02', 'secp256k1'],
    ['EC:edwards25519', 'ed-key', '03', 'Ed25519'],
  ];
  for (const [type, label, id] of keys) {
    const args = ['--module', MODULE, '--token-label', TOKEN, '--login', '--pin', PIN, '--keypairgen'];
    execFileSync('pkcs11-tool', [...args, '--key-type', type, '--label', label, '--id', id], quiet);
  }

  const message = Buffer.from('transfer 100 from alice to bob');
  for (const [, label, , curve] of keys) {
    // The same settings as pkcs11_library, pkcs11_token_label, pkcs11_key_label in config.ini.
    const signer = await createSigner({
      enableHsm: false,
      hsmLibPath: '',
      privateKeyPath: '',
      password: PIN,
      pkcs11: { library: MODULE, tokenLabel: TOKEN, keyLabel: label },
    });
    try {
      const signature = await signer.sign(message);
      const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
      const jwk =
        curve === 'Ed25519'
          ? { kty: 'OKP', crv: 'Ed25519', x: b64(signer.publicKey) }
          : { kty: 'EC', crv: curve, x: b64(signer.publicKey.subarray(0, 32)), y: b64(signer.publicKey.subarray(32)) };
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      const valid =
        curve === 'Ed25519'
          ? verify(null, message, key, signature)
          : verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
      console.log(
        `${signer.algorithm.padEnd(16)} key ${signer.nodeId.slice(0, 16)}…  signature ${Buffer.from(signature).toString('hex').slice(0, 16)}…  node:crypto verifies: ${valid}`,
      );
      if (!valid) process.exitCode = 1;
    } finally {
      await signer.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
