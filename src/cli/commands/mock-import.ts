import { randomBytes } from 'node:crypto';
import { importMockKek, importMockKey } from '../../mock/keystore';
import { bytesToHex, generatePrivateKey, hexToBytes, nodeIdOf, parsePrivateKey } from '../../sm2';
import { defineCommand, required, UsageError } from '../command';
import { readFlagFile, readSecretFlagFile } from '../input';

function readPassword(values: { password?: string; 'password-file'?: string }): string {
  if (values.password !== undefined && values['password-file'] !== undefined) {
    throw new UsageError('give --password or --password-file, not both');
  }
  if (values['password-file'] !== undefined) {
    const file = readFlagFile(values['password-file'], '--password-file');
    try {
      return file.toString('utf8').replace(/\r?\n$/, '');
    } finally {
      file.fill(0);
    }
  }
  return required(values.password, '--password (or --password-file)');
}

function readKey(values: { key?: string; generate?: boolean }): Uint8Array {
  if ((values.key === undefined) === !values.generate)
    throw new UsageError('give exactly one of --key FILE and --generate');
  if (values.generate) return generatePrivateKey();
  const file = values.key as string;
  const content = readFlagFile(file, '--key');
  try {
    return parsePrivateKey(content, file);
  } finally {
    content.fill(0);
  }
}

/** A KEK: 32 hex characters in the --key file, or 16 random bytes. */
function readKek(values: { key?: string; generate?: boolean }): Uint8Array {
  if ((values.key === undefined) === !values.generate)
    throw new UsageError('give exactly one of --key FILE and --generate');
  if (values.generate) return new Uint8Array(randomBytes(16));
  const file = values.key as string;
  const text = readSecretFlagFile(file, '--key');
  if (!/^[0-9a-fA-F]{32}$/.test(text)) throw new UsageError(`--key ${file}: a KEK file holds 32 hex characters`);
  return hexToBytes(text);
}

export const mockImport = defineCommand({
  name: 'mock-import',
  summary: 'provision a key into the mock cipher card (test tool)',
  options: {
    keystore: { type: 'string', value: 'DIR', required: true, description: "the mock card's keystore folder" },
    index: { type: 'string', value: 'N', required: true, description: 'key index, 0 to 4294967295' },
    password: { type: 'string', value: 'P', description: "the key's access password" },
    'password-file': { type: 'string', value: 'FILE', description: 'a file holding the password (one line)' },
    key: { type: 'string', value: 'FILE', description: 'the private key (PEM or hex); with --kek, 32 hex characters' },
    generate: { type: 'boolean', description: 'generate the key instead of reading --key' },
    enc: { type: 'boolean', description: 'import as the encryption key at the index' },
    kek: { type: 'boolean', description: 'import an SM4 key-encryption key (no password)' },
    force: { type: 'boolean', description: 'replace a key already at the index' },
  },
  notes: ['Give --key FILE or --generate, and for a sign or enc key --password or --password-file.'],
  async run(values, out) {
    const keystore = values.keystore;
    const indexText = values.index;
    if (!/^\d+$/.test(indexText) || Number(indexText) > 0xffffffff) {
      throw new UsageError(`--index must be an integer from 0 to 4294967295, got ${indexText}`);
    }
    const index = Number(indexText);
    if (values.kek) {
      if (values.enc) throw new UsageError('give --kek or --enc, not both');
      const kek = readKek(values);
      try {
        importMockKek({ keystore, index, kek, overwrite: values.force });
      } finally {
        kek.fill(0);
      }
      out.result(`imported KEK at index ${index} into ${keystore}`, { keystore, index, usage: 'kek' });
      return;
    }
    const privateKey = readKey(values);
    const usage = values.enc ? 'enc' : 'sign';
    try {
      const publicKey = importMockKey({
        keystore,
        index,
        password: readPassword(values),
        privateKey,
        usage,
        overwrite: values.force,
      });
      const nodeId = nodeIdOf(publicKey);
      out.result(`imported ${usage} key at index ${index} into ${keystore}\nnode id: ${nodeId}`, {
        keystore,
        index,
        usage,
        publicKey: bytesToHex(publicKey),
        nodeId,
      });
    } finally {
      privateKey.fill(0);
    }
  },
});
