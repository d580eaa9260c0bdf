import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, publicKeyFromPrivateKey, sm3 } from '../sm2';

export type MockKeyUsage = 'sign' | 'enc' | 'kek';

export interface MockKeyImport {
  /** The mock card's keystore folder (what GMT0018_MOCK_KEYSTORE names). */
  keystore: string;
  /** Key index inside the card; FISCO numbers them from 1. */
  index: number;
  /** Access password for SDF_GetPrivateKeyAccessRight. */
  password: string;
  /** 32-byte SM2 private key. */
  privateKey: Uint8Array;
  usage?: 'sign' | 'enc';
  /** Replace a key already at this index; otherwise that is an error, as on a real card. */
  overwrite?: boolean;
}

export function mockKeyFile(keystore: string, index: number, usage: MockKeyUsage = 'sign'): string {
  return join(keystore, `${usage}-${index}.key`);
}

/** Writes `body` to `file` through a temporary file (mode 0600), zeroing the buffer afterwards. */
function writeKeyFile(keystore: string, file: string, body: Buffer): void {
  mkdirSync(keystore, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, body, { mode: 0o600 });
  } finally {
    body.fill(0);
  }
  renameSync(temporary, file);
}

function requireFree(file: string, usage: MockKeyUsage, index: number, overwrite: boolean | undefined): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new RangeError(`key index must be an integer from 0 to 4294967295, got ${index}`);
  }
  if (!overwrite && existsSync(file)) {
    throw new Error(
      `the mock card already holds a ${usage} key at index ${index} (${file}); pass --force to replace it`,
    );
  }
}

export interface MockKekImport {
  keystore: string;
  index: number;
  /** 16-byte SM4 key-encryption key. */
  kek: Uint8Array;
  overwrite?: boolean;
}

/** Provisions an SM4 key-encryption key (kek-<N>.key: `kek=<32 hex>`), used without a password. */
export function importMockKek(request: MockKekImport): void {
  const { keystore, index, kek } = request;
  if (!(kek instanceof Uint8Array) || kek.length !== 16) throw new RangeError('a KEK is a 16-byte SM4 key');
  const file = mockKeyFile(keystore, index, 'kek');
  requireFree(file, 'kek', index, request.overwrite);
  writeKeyFile(keystore, file, Buffer.from(`# gmt0018 mock card KEK, index ${index}\nkek=${bytesToHex(kek)}\n`));
}

/**
 * Provisions a key into the mock card's keystore. The file holds the private key (this is a
 * test device) and only a salted SM3 of the password, in the format the mock reads at
 * SDF_OpenDevice. Returns the public key, 64 bytes x||y.
 */
export function importMockKey(request: MockKeyImport): Uint8Array {
  const { keystore, index, password, privateKey, usage = 'sign' } = request;
  const file = mockKeyFile(keystore, index, usage);
  requireFree(file, usage, index, request.overwrite);
  const publicKey = publicKeyFromPrivateKey(privateKey);
  const salt = randomBytes(16);
  const secret = Buffer.from(password, 'utf8');
  const digest = sm3(Buffer.concat([salt, secret]));
  secret.fill(0);
  const body = Buffer.from(
    `# gmt0018 mock card key, index ${index} (${usage})\n` +
      `private=${bytesToHex(privateKey)}\n` +
      `salt=${bytesToHex(salt)}\n` +
      `password_sm3=${bytesToHex(digest)}\n`,
  );
  writeKeyFile(keystore, file, body);
  return publicKey;
}
