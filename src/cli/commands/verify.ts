import { parsePublicKey, parseSignature, sm2Verify, sm2VerifyDigest, bytesToHex, SM2_DEFAULT_USER_ID } from '../../sm2';
import {
  publicKeyFromHex,
  SIGNER_ALGORITHMS,
  verifyDigestWith,
  verifyWith,
  type SignerAlgorithm,
} from '../../signer/algorithms';
import { defineCommand, UsageError, VerificationFailed } from '../command';
import {
  checkDigestLength,
  DATA_NOTE,
  DATA_OPTIONS,
  parseHashFlag,
  parseHexArgument,
  readData,
  readFlagFile,
} from '../input';

/** r||s of the --signature argument; a FISCO signature must carry the key given as --pubkey. */
function signatureFor(bytes: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let parsed: ReturnType<typeof parseSignature>;
  try {
    parsed = parseSignature(bytes);
  } catch (error) {
    throw new UsageError(`--signature: ${(error as Error).message}`);
  }
  if (parsed.publicKey !== undefined && bytesToHex(parsed.publicKey) !== bytesToHex(publicKey)) {
    throw new VerificationFailed('the FISCO signature carries a different public key than --pubkey');
  }
  return parsed.signature;
}

export const verify = defineCommand({
  name: 'verify',
  summary: 'verify a signature (SM2 unless --algorithm says otherwise); exit code 1 when it does not verify',
  options: {
    pubkey: {
      type: 'string',
      value: 'HEX|FILE',
      required: true,
      description: 'the public key: hex, or a PEM file (SM2); hex for the other algorithms',
    },
    signature: { type: 'string', value: 'HEX', required: true, description: 'r||s, DER, or FISCO form (SM2)' },
    ...DATA_OPTIONS,
    digest: { type: 'boolean', description: 'the data is the 32-byte digest that was signed' },
    'user-id': { type: 'string', value: 'ID', defaultNote: SM2_DEFAULT_USER_ID, description: 'SM2 user ID in Z' },
    algorithm: {
      type: 'string',
      value: SIGNER_ALGORITHMS.join('|'),
      default: 'sm2',
      description: 'the key and signature algorithm',
    },
    hash: {
      type: 'string',
      value: 'sha256|keccak256',
      defaultNote: 'sha256',
      description: 'ECDSA: the hash of the data',
    },
  },
  notes: [DATA_NOTE],
  async run(values, out) {
    const algorithm = values.algorithm;
    if (algorithm !== 'sm2') {
      await verifyOther(values, algorithm, out);
      return;
    }
    let publicKey: Uint8Array;
    const keyText = values.pubkey;
    const keyInput = /^(0x)?[0-9a-f]+$/i.test(keyText) ? keyText : readFlagFile(keyText, '--pubkey').toString('utf8');
    try {
      publicKey = parsePublicKey(keyInput);
    } catch (error) {
      throw new UsageError(`--pubkey: ${(error as Error).message}`);
    }
    const signature = signatureFor(parseHexArgument(values.signature, '--signature'), publicKey);
    const data = readData(values);
    checkDigestLength(data, values.digest);
    const valid = values.digest
      ? sm2VerifyDigest(publicKey, data, signature)
      : sm2Verify(publicKey, data, signature, { userId: values['user-id'] });
    out.result(valid ? 'valid' : 'invalid', { valid });
    if (!valid) throw new VerificationFailed('signature does not verify');
  },
});

/** Verification of ECDSA and Ed25519 signatures: the key as hex, the signature as 64 raw bytes. */
async function verifyOther(
  values: { pubkey: string; signature: string; digest?: boolean; hash?: string; hex?: string; file?: string },
  algorithm: string,
  out: { result(text: string, data: unknown): void },
): Promise<void> {
  if (!(SIGNER_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UsageError(`--algorithm must be one of ${SIGNER_ALGORITHMS.join(', ')}, got ${algorithm}`);
  }
  const which = algorithm as SignerAlgorithm;
  const hash = parseHashFlag(values.hash);
  let publicKey: Uint8Array;
  try {
    publicKey = publicKeyFromHex(which, values.pubkey);
  } catch (error) {
    throw new UsageError(`--pubkey: ${(error as Error).message}`);
  }
  const signature = parseHexArgument(values.signature, '--signature');
  const data = readData(values);
  const valid = values.digest
    ? verifyDigestWith(which, publicKey, data, signature)
    : verifyWith(which, publicKey, data, signature, hash === undefined ? {} : { hash });
  out.result(valid ? 'valid' : 'invalid', { valid });
  if (!valid) throw new VerificationFailed('signature does not verify');
}
