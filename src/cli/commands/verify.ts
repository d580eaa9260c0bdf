import { parsePublicKey, parseSignature, sm2Verify, sm2VerifyDigest, bytesToHex } from '../../sm2';
import {
  publicKeyFromHex,
  SIGNER_ALGORITHMS,
  verifyDigestWith,
  verifyWith,
  type EcdsaHash,
  type SignerAlgorithm,
} from '../../signer/algorithms';
import { defineCommand, required, UsageError, VerificationFailed } from '../command';
import { parseHexArgument, readData, readFlagFile } from '../input';

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
  usage:
    'gmt0018 verify --pubkey HEX|PEM-FILE (--hex DATA | --file F | < data) --signature HEX [--digest] ' +
    '[--user-id ID] [--algorithm sm2|ecdsa-p256|ecdsa-secp256k1|ed25519] [--hash sha256|keccak256] [--json]',
  options: {
    algorithm: { type: 'string' },
    hash: { type: 'string' },
    pubkey: { type: 'string' },
    hex: { type: 'string' },
    file: { type: 'string' },
    signature: { type: 'string' },
    digest: { type: 'boolean' },
    'user-id': { type: 'string' },
  },
  async run(values, out) {
    const algorithm = values.algorithm ?? 'sm2';
    if (algorithm !== 'sm2') {
      await verifyOther(values, algorithm, out);
      return;
    }
    let publicKey: Uint8Array;
    const keyText = required(values.pubkey, '--pubkey');
    const keyInput = /^(0x)?[0-9a-f]+$/i.test(keyText) ? keyText : readFlagFile(keyText, '--pubkey').toString('utf8');
    try {
      publicKey = parsePublicKey(keyInput);
    } catch (error) {
      throw new UsageError(`--pubkey: ${(error as Error).message}`);
    }
    const signature = signatureFor(
      parseHexArgument(required(values.signature, '--signature'), '--signature'),
      publicKey,
    );
    const data = readData(values);
    if (values.digest && data.length !== 32) throw new UsageError(`--digest takes 32 bytes (SM3), got ${data.length}`);
    const valid = values.digest
      ? sm2VerifyDigest(publicKey, data, signature)
      : sm2Verify(publicKey, data, signature, { userId: values['user-id'] });
    out.result(valid ? 'valid' : 'invalid', { valid });
    if (!valid) throw new VerificationFailed('signature does not verify');
  },
});

/** Verification of ECDSA and Ed25519 signatures: the key as hex, the signature as 64 raw bytes. */
async function verifyOther(
  values: { pubkey?: string; signature?: string; digest?: boolean; hash?: string; hex?: string; file?: string },
  algorithm: string,
  out: { result(text: string, data: unknown): void },
): Promise<void> {
  if (!(SIGNER_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UsageError(`--algorithm must be one of ${SIGNER_ALGORITHMS.join(', ')}, got ${algorithm}`);
  }
  const which = algorithm as SignerAlgorithm;
  if (values.hash !== undefined && values.hash !== 'sha256' && values.hash !== 'keccak256') {
    throw new UsageError(`--hash must be sha256 or keccak256, got ${values.hash}`);
  }
  let publicKey: Uint8Array;
  try {
    publicKey = publicKeyFromHex(which, required(values.pubkey, '--pubkey'));
  } catch (error) {
    throw new UsageError(`--pubkey: ${(error as Error).message}`);
  }
  const signature = parseHexArgument(required(values.signature, '--signature'), '--signature');
  const data = readData(values);
  const valid = values.digest
    ? verifyDigestWith(which, publicKey, data, signature)
    : verifyWith(
        which,
        publicKey,
        data,
        signature,
        values.hash === undefined ? {} : { hash: values.hash as EcdsaHash },
      );
  out.result(valid ? 'valid' : 'invalid', { valid });
  if (!valid) throw new VerificationFailed('signature does not verify');
}
