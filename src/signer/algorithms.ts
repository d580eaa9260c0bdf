/**
 * What each signing algorithm does on the host: the digest a device signs, the shape of its
 * signatures, and verification in software (SM2 in gmt0018's own code, the others with noble).
 */
import { p256 } from '@noble/curves/p256';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import type { Pkcs11Algorithm } from '../pkcs11/keys';
import { publicKeyToPem, sm2Digest, sm2Verify, sm2VerifyDigest } from '../sm2';
import { encodeOid, encodeTlv, TAG_BIT_STRING, TAG_SEQUENCE } from '../sm2/asn1';
import { encodePem } from '../sm2/pem';

export type SignerAlgorithm = Pkcs11Algorithm;

/** How an ECDSA message is hashed before signing. */
export type EcdsaHash = 'sha256' | 'keccak256';

/** `userId` for SM2 keys, `hash` ('sha256' by default, or 'keccak256') for ECDSA keys. */
export interface SignOptions {
  /** SM2 user ID for the Z value; default "1234567812345678". */
  userId?: Uint8Array | string;
  /** ECDSA: the message hash, default sha256. */
  hash?: EcdsaHash;
}

const ECDSA_CURVES = { 'ecdsa-p256': p256, 'ecdsa-secp256k1': secp256k1 } as const;

/** True for algorithms that sign a digest the host computed (all but Ed25519, which signs the message). */
export function signsDigest(algorithm: SignerAlgorithm): boolean {
  return algorithm !== 'ed25519';
}

/** The digest the device signs: SM3(Z‖M) for SM2, SHA-256 or Keccak-256 of M for ECDSA. */
export function digestFor(
  algorithm: SignerAlgorithm,
  publicKey: Uint8Array,
  message: Uint8Array,
  opts: SignOptions,
): Uint8Array {
  if (algorithm === 'sm2') return sm2Digest(publicKey, message, opts.userId);
  if (algorithm === 'ed25519') throw new TypeError('Ed25519 signs the message itself, not a digest');
  if (opts.userId !== undefined) throw new TypeError('userId applies to SM2 keys only');
  const hash = opts.hash ?? 'sha256';
  if (hash === 'sha256') return sha256(message);
  if (hash === 'keccak256') return keccak_256(message);
  throw new RangeError(`hash must be 'sha256' or 'keccak256', got ${String(hash)}`);
}

/**
 * An ECDSA signature in its low-S form (s ≤ n/2): always for secp256k1 (Ethereum and Bitcoin
 * reject high S), for P-256 when asked (Hyperledger Fabric does). Other algorithms pass through.
 */
export function normalizeSignature(algorithm: SignerAlgorithm, signature: Uint8Array, lowS: boolean): Uint8Array {
  if (algorithm !== 'ecdsa-secp256k1' && !(algorithm === 'ecdsa-p256' && lowS)) return signature;
  const curve = ECDSA_CURVES[algorithm];
  const parsed = curve.Signature.fromCompact(signature);
  return parsed.hasHighS() ? parsed.normalizeS().toCompactRawBytes() : signature;
}

function uncompressed(publicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(65);
  out[0] = 4;
  out.set(publicKey, 1);
  return out;
}

/** Verifies in software; false for any bad signature or key, never a throw for bad bytes. */
export function verifyWith(
  algorithm: SignerAlgorithm,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  opts: SignOptions = {},
): boolean {
  if (algorithm === 'sm2') return sm2Verify(publicKey, message, signature, opts);
  try {
    if (algorithm === 'ed25519') return ed25519.verify(signature, message, publicKey);
    const digest = digestFor(algorithm, publicKey, message, opts);
    return ECDSA_CURVES[algorithm].verify(signature, digest, uncompressed(publicKey), { prehash: false, lowS: false });
  } catch {
    return false;
  }
}

/** Verifies a signature over a digest (SM2, ECDSA). */
export function verifyDigestWith(
  algorithm: SignerAlgorithm,
  publicKey: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (algorithm === 'sm2') return sm2VerifyDigest(publicKey, digest, signature);
  if (algorithm === 'ed25519') return false;
  try {
    return ECDSA_CURVES[algorithm].verify(signature, digest, uncompressed(publicKey), { prehash: false, lowS: false });
  } catch {
    return false;
  }
}

const SPKI_OIDS: Record<Exclude<SignerAlgorithm, 'sm2'>, string[]> = {
  'ecdsa-p256': ['1.2.840.10045.2.1', '1.2.840.10045.3.1.7'],
  'ecdsa-secp256k1': ['1.2.840.10045.2.1', '1.3.132.0.10'],
  ed25519: ['1.3.101.112'],
};

/** SubjectPublicKeyInfo PEM of a public key, as OpenSSL writes it for each algorithm. */
export function publicKeyPemFor(algorithm: SignerAlgorithm, publicKey: Uint8Array): string {
  if (algorithm === 'sm2') return publicKeyToPem(publicKey);
  const identifiers = encodeTlv(TAG_SEQUENCE, ...SPKI_OIDS[algorithm].map((oid) => encodeOid(oid)));
  const point = algorithm === 'ed25519' ? publicKey : uncompressed(publicKey);
  return encodePem(
    'PUBLIC KEY',
    encodeTlv(TAG_SEQUENCE, identifiers, encodeTlv(TAG_BIT_STRING, Uint8Array.of(0), point)),
  );
}

export const SIGNER_ALGORITHMS: readonly SignerAlgorithm[] = ['sm2', 'ecdsa-p256', 'ecdsa-secp256k1', 'ed25519'];

/** A public key of `algorithm` from hex: x‖y (or 04‖x‖y) for SM2 and ECDSA, 32 bytes for Ed25519. */
export function publicKeyFromHex(algorithm: SignerAlgorithm, hex: string): Uint8Array {
  const bytes = Buffer.from(hex.trim().replace(/^0x/i, ''), 'hex');
  if (algorithm === 'ed25519' && bytes.length === 32) return new Uint8Array(bytes);
  if (algorithm !== 'ed25519' && bytes.length === 64) return new Uint8Array(bytes);
  if (algorithm !== 'ed25519' && bytes.length === 65 && bytes[0] === 4) return new Uint8Array(bytes.subarray(1));
  throw new RangeError(
    `not a ${algorithm} public key in hex (${algorithm === 'ed25519' ? '32 bytes' : '64 bytes x‖y, or 65 with 04 first'})`,
  );
}
