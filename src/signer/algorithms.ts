/**
 * What each signing algorithm does on the host: the digest a device signs, the shape of its
 * signatures, and verification in software (SM2 in gmt0018's own code, the others with noble).
 */
import { p256 } from '@noble/curves/p256';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import { sm2Digest, sm2Verify, sm2VerifyDigest } from '../sm2';

export type SignerAlgorithm = 'sm2' | 'ecdsa-p256' | 'ecdsa-secp256k1' | 'ed25519';

/** How an ECDSA message is hashed before signing. */
export type EcdsaHash = 'sha256' | 'keccak256';

export interface AlgorithmSignOptions {
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
  opts: AlgorithmSignOptions,
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
  opts: AlgorithmSignOptions = {},
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
