import type { Signer } from '../../signer';
import { publicKeyPemFor } from '../../signer/algorithms';
import { bytesToHex, signatureToDer, SM2_DEFAULT_USER_ID, toFiscoSignature } from '../../sm2';
import { defineCommand, ownEntry, SIGNER_OPTIONS, UsageError, type Output } from '../command';
import { checkDigestLength, DATA_OPTIONS, DATA_NOTE, parseHashFlag, readData } from '../input';
import { openSigner } from '../node-config';

async function withSigner<T>(
  values: { config: string; verbose?: boolean },
  out: Output,
  use: (signer: Signer) => Promise<T>,
): Promise<T> {
  const signer = await openSigner(values, out);
  try {
    return await use(signer);
  } finally {
    await signer.close();
  }
}

export const pubkey = defineCommand({
  name: 'pubkey',
  summary: "print the signing key's public key",
  options: {
    ...SIGNER_OPTIONS,
    format: { type: 'string', value: 'hex|pem', default: 'hex', description: 'hex of the 64-byte key, or SPKI PEM' },
  },
  async run(values, out) {
    const format = values.format;
    if (format !== 'hex' && format !== 'pem') throw new UsageError(`--format must be hex or pem, got ${format}`);
    await withSigner(values, out, async (signer) => {
      const text =
        format === 'pem' ? publicKeyPemFor(signer.algorithm, signer.publicKey).trimEnd() : bytesToHex(signer.publicKey);
      out.result(text, { backend: signer.backend, algorithm: signer.algorithm, format, publicKey: text });
    });
  },
});

export const nodeid = defineCommand({
  name: 'nodeid',
  summary: 'print the node ID (hex of the 64-byte public key), as FISCO writes node.nodeid',
  options: SIGNER_OPTIONS,
  async run(values, out) {
    await withSigner(values, out, async (signer) => {
      out.result(signer.nodeId, { backend: signer.backend, nodeId: signer.nodeId });
    });
  },
});

const SIGNATURE_FORMATS = {
  hex: (signature: Uint8Array) => signature,
  der: (signature: Uint8Array) => signatureToDer(signature),
  fisco: (signature: Uint8Array, publicKey: Uint8Array) => toFiscoSignature(signature, publicKey),
} as const;

export const sign = defineCommand({
  name: 'sign',
  summary: 'sign data (SM2 over SM3(Z||data), ECDSA over SHA-256 or Keccak-256, Ed25519) or a 32-byte digest',
  options: {
    ...SIGNER_OPTIONS,
    ...DATA_OPTIONS,
    digest: { type: 'boolean', description: 'the data is a 32-byte digest, signed as it is' },
    format: {
      type: 'string',
      value: 'hex|der|fisco',
      default: 'hex',
      description: 'r||s, DER, or FISCO r||s||public key',
    },
    'user-id': { type: 'string', value: 'ID', defaultNote: SM2_DEFAULT_USER_ID, description: 'SM2 user ID in Z' },
    hash: {
      type: 'string',
      value: 'sha256|keccak256',
      defaultNote: 'sha256',
      description: 'ECDSA keys: the hash of the data',
    },
  },
  notes: [DATA_NOTE],
  async run(values, out) {
    const format = values.format;
    const hash = parseHashFlag(values.hash);
    const encode = ownEntry<(signature: Uint8Array, publicKey: Uint8Array) => Uint8Array>(SIGNATURE_FORMATS, format);
    if (encode === undefined) throw new UsageError(`--format must be hex, der or fisco, got ${format}`);
    if (values.digest && values['user-id'] !== undefined) {
      throw new UsageError('--user-id goes into the digest: it cannot be combined with --digest');
    }
    const data = readData(values);
    checkDigestLength(data, values.digest);
    await withSigner(values, out, async (signer) => {
      if (signer.algorithm !== 'sm2' && (format === 'fisco' || values['user-id'] !== undefined)) {
        throw new UsageError(`--format fisco and --user-id are for SM2 keys; this key is ${signer.algorithm}`);
      }
      if (signer.algorithm === 'sm2' && hash !== undefined) throw new UsageError('--hash is for ECDSA keys');
      const opts = signer.algorithm === 'sm2' ? { userId: values['user-id'] } : hash === undefined ? {} : { hash };
      const signature = values.digest ? await signer.signDigest(data) : await signer.sign(data, opts);
      const encoded = bytesToHex(encode(signature, signer.publicKey));
      out.result(encoded, {
        backend: signer.backend,
        algorithm: signer.algorithm,
        format,
        signature: encoded,
        publicKey: bytesToHex(signer.publicKey),
      });
    });
  },
});
