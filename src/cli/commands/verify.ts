import { parsePublicKey, parseSignature, sm2Verify, sm2VerifyDigest, bytesToHex } from '../../sm2';
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
  summary: 'verify an SM2 signature; exit code 1 when it does not verify',
  usage:
    'gmt0018 verify --pubkey HEX|PEM-FILE (--hex DATA | --file F | < data) --signature HEX [--digest] ' +
    '[--user-id ID] [--json]',
  options: {
    pubkey: { type: 'string' },
    hex: { type: 'string' },
    file: { type: 'string' },
    signature: { type: 'string' },
    digest: { type: 'boolean' },
    'user-id': { type: 'string' },
  },
  async run(values, out) {
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
