/**
 * The ECC key and encryption functions of an SdfSession: external key pairs, external signatures
 * and SM2 encryption with external or internal keys. SdfSession's methods call these.
 */
import { capacityOf, guardedBuffer } from '../native/guard-bytes';
import { requireBytes, requireIndex } from './arguments';
import { SGD } from './codes';
import {
  cipherStructSize,
  decodeCipher,
  decodePrivateKey,
  encodeCipher,
  encodePrivateKey,
  privateKeyStructSize,
  type Sm2Ciphertext,
} from './ecc-structs';
import type { SdfSession } from './session';
import {
  SM2_VALUE_BYTES,
  checkOutput,
  decodePublicKey,
  decodeSignature,
  encodePublicKey,
  publicKeyStructSize,
  signatureStructSize,
  structBuffer,
} from './structs';

export interface KeyPairOptions {
  /** What the key is for: `SGD_SM2_1` (signing, the default) or `SGD_SM2_3` (encryption). */
  algorithm?: 'SGD_SM2_1' | 'SGD_SM2_3';
}

function requirePlaintext(data: Uint8Array): void {
  requireBytes(data, 'data');
  if (data.length === 0) throw new RangeError('data to encrypt must not be empty');
}

function requireCipher(cipher: Sm2Ciphertext): void {
  if (cipher === null || typeof cipher !== 'object') throw new TypeError('cipher must be { c1, c3, c2 }');
  requireBytes(cipher.c1, 'cipher.c1', 2 * SM2_VALUE_BYTES);
  requireBytes(cipher.c3, 'cipher.c3', SM2_VALUE_BYTES);
  requireBytes(cipher.c2, 'cipher.c2');
  if (cipher.c2.length === 0) throw new RangeError('cipher.c2 must not be empty');
}

/** Runs `use` with the private key struct, zeroing it afterwards. */
async function withPrivateKey<T>(session: SdfSession, privateKey: Uint8Array, use: (struct: Buffer) => Promise<T>) {
  requireBytes(privateKey, 'private key', SM2_VALUE_BYTES);
  const struct = encodePrivateKey(privateKey, session.library.options.eccFieldBytes);
  try {
    return await use(struct);
  } finally {
    struct.fill(0);
  }
}

/** Calls a decrypt function whose last two arguments are the output buffer and its capacity. */
async function decryptCall(
  session: SdfSession,
  fn: 'SDF_ExternalDecrypt_ECC' | 'SDF_InternalDecrypt_ECC',
  leading: unknown[],
  cipher: Sm2Ciphertext,
): Promise<Uint8Array> {
  const out = guardedBuffer(cipher.c2.length, true);
  const length = [capacityOf(out)];
  const struct = encodeCipher(cipher, session.library.options.eccFieldBytes);
  await session.call(fn, [...leading, struct, out, length]);
  checkOutput(out, capacityOf(out), fn);
  if (length[0] !== cipher.c2.length) {
    out.fill(0);
    throw new RangeError(`${fn} returned ${length[0]} bytes for a ${cipher.c2.length}-byte ciphertext`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, cipher.c2.length);
}

export async function generateKeyPair(session: SdfSession, opts: KeyPairOptions) {
  const fn = 'SDF_GenerateKeyPair_ECC';
  const algorithm = opts.algorithm ?? 'SGD_SM2_1';
  if (algorithm !== 'SGD_SM2_1' && algorithm !== 'SGD_SM2_3') {
    throw new RangeError(`algorithm must be 'SGD_SM2_1' or 'SGD_SM2_3', got ${String(algorithm)}`);
  }
  const field = session.library.options.eccFieldBytes;
  const pub = structBuffer(publicKeyStructSize(field));
  const priv = guardedBuffer(privateKeyStructSize(field), true);
  try {
    await session.call(fn, [SGD[algorithm], 256, pub, priv]);
    return { publicKey: decodePublicKey(pub, field, fn), privateKey: decodePrivateKey(priv, field, fn) };
  } finally {
    priv.fill(0);
  }
}

export async function externalSign(session: SdfSession, privateKey: Uint8Array, digest: Uint8Array) {
  const fn = 'SDF_ExternalSign_ECC';
  requireBytes(digest, 'digest', SM2_VALUE_BYTES);
  const field = session.library.options.eccFieldBytes;
  return withPrivateKey(session, privateKey, async (key) => {
    const out = structBuffer(signatureStructSize(field));
    await session.call(fn, [SGD.SGD_SM2_1, key, digest, digest.length, out]);
    return decodeSignature(out, field, fn);
  });
}

export async function externalEncrypt(session: SdfSession, publicKey: Uint8Array, data: Uint8Array) {
  const fn = 'SDF_ExternalEncrypt_ECC';
  requireBytes(publicKey, 'public key', 2 * SM2_VALUE_BYTES);
  requirePlaintext(data);
  const field = session.library.options.eccFieldBytes;
  const out = structBuffer(cipherStructSize(field, data.length));
  await session.call(fn, [SGD.SGD_SM2_3, encodePublicKey(publicKey, field), data, data.length, out]);
  return decodeCipher(out, field, fn);
}

export async function externalDecrypt(session: SdfSession, privateKey: Uint8Array, cipher: Sm2Ciphertext) {
  requireCipher(cipher);
  return withPrivateKey(session, privateKey, (key) =>
    decryptCall(session, 'SDF_ExternalDecrypt_ECC', [SGD.SGD_SM2_3, key], cipher),
  );
}

export async function internalEncrypt(session: SdfSession, keyIndex: number, data: Uint8Array) {
  const fn = 'SDF_InternalEncrypt_ECC';
  requireIndex(keyIndex);
  requirePlaintext(data);
  const field = session.library.options.eccFieldBytes;
  const out = structBuffer(cipherStructSize(field, data.length));
  await session.call(fn, [keyIndex, SGD.SGD_SM2_3, data, data.length, out]);
  return decodeCipher(out, field, fn);
}

export async function internalDecrypt(session: SdfSession, keyIndex: number, cipher: Sm2Ciphertext) {
  requireIndex(keyIndex);
  requireCipher(cipher);
  return decryptCall(session, 'SDF_InternalDecrypt_ECC', [keyIndex, SGD.SGD_SM2_3], cipher);
}
