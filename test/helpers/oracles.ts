import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bytesToHex,
  hexToBytes,
  privateKeyToPem,
  publicKeyToPem,
  signatureFromDer,
  signatureToDer,
} from '../../src/sm2';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const smCrypto = require('sm-crypto');

const DIST_ID = 'distid:1234567812345678';

/** sm-crypto (an independent JS implementation) as an oracle. */
export const smCryptoOracle = {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    return smCrypto.sm2.doVerifySignature(Array.from(message), bytesToHex(signature), `04${bytesToHex(publicKey)}`, {
      hash: true,
      der: false,
    });
  },
  sign(privateKey: Uint8Array, publicKey: Uint8Array, message: Uint8Array): Uint8Array {
    const hex: string = smCrypto.sm2.doSignature(Array.from(message), bytesToHex(privateKey), {
      hash: true,
      der: false,
      publicKey: `04${bytesToHex(publicKey)}`,
    });
    return hexToBytes(hex.padStart(128, '0'));
  },
};

function withTempDir<T>(use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-openssl-'));
  try {
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The OpenSSL 3 command line as an oracle (SM2 with the standard ID through -sigopt distid). */
export const opensslOracle = {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    return withTempDir((dir) => {
      writeFileSync(join(dir, 'pub.pem'), publicKeyToPem(publicKey));
      writeFileSync(join(dir, 'msg'), message);
      writeFileSync(join(dir, 'sig.der'), signatureToDer(signature));
      const result = spawnSync(
        'openssl',
        ['dgst', '-sm3', '-verify', 'pub.pem', '-sigopt', DIST_ID, '-signature', 'sig.der', 'msg'],
        { cwd: dir, encoding: 'utf8' },
      );
      if (result.status !== 0 && !/Verification failure/i.test(result.stdout + result.stderr)) {
        throw new Error(`openssl failed unexpectedly: ${result.stderr}`);
      }
      return result.status === 0 && /Verified OK/.test(result.stdout);
    });
  },
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    return withTempDir((dir) => {
      writeFileSync(join(dir, 'key.pem'), privateKeyToPem(privateKey));
      writeFileSync(join(dir, 'msg'), message);
      const der = execFileSync('openssl', ['dgst', '-sm3', '-sign', 'key.pem', '-sigopt', DIST_ID, 'msg'], {
        cwd: dir,
      });
      return signatureFromDer(der);
    });
  },
};
