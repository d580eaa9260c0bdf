/**
 * The ECC key and encryption functions of an SdfSession: external key pairs, external signatures
 * and SM2 encryption with external or internal keys. Added to SdfSession's prototype (the class
 * stays in session.ts); importing the `sdf` module installs them.
 */
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
import { SdfSession } from './session';
import {
  SM2_VALUE_BYTES,
  decodePublicKey,
  decodeSignature,
  encodePublicKey,
  publicKeyStructSize,
  signatureStructSize,
} from './structs';

declare module './session' {
  interface SdfSession {
    /** SDF_GenerateKeyPair_ECC: a fresh SM2 key pair made by the device (publicKey x||y, privateKey d). */
    generateKeyPairEcc(): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }>;
    /** SDF_ExternalSign_ECC: signs the 32-byte digest e with a given private key; 64 bytes r||s. */
    externalSign(privateKey: Uint8Array, digest: Uint8Array): Promise<Uint8Array>;
    /** SDF_ExternalEncrypt_ECC: SM2-encrypts `data` to a given 64-byte public key. */
    externalEncrypt(publicKey: Uint8Array, data: Uint8Array): Promise<Sm2Ciphertext>;
    /** SDF_ExternalDecrypt_ECC: decrypts with a given 32-byte private key. */
    externalDecrypt(privateKey: Uint8Array, cipher: Sm2Ciphertext): Promise<Uint8Array>;
    /** SDF_InternalEncrypt_ECC: SM2-encrypts to the internal encryption key at `keyIndex`. */
    internalEncrypt(keyIndex: number, data: Uint8Array): Promise<Sm2Ciphertext>;
    /** SDF_InternalDecrypt_ECC: decrypts with the internal encryption key (needs the access right). */
    internalDecrypt(keyIndex: number, cipher: Sm2Ciphertext): Promise<Uint8Array>;
  }
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

/** Calls a decrypt function whose last two arguments are the output buffer and its length. */
async function decryptCall(
  session: SdfSession,
  fn: 'SDF_ExternalDecrypt_ECC' | 'SDF_InternalDecrypt_ECC',
  leading: unknown[],
  cipher: Sm2Ciphertext,
): Promise<Uint8Array> {
  const out = Buffer.alloc(cipher.c2.length);
  const length = [out.length];
  const struct = encodeCipher(cipher, session.library.options.eccFieldBytes);
  await session.library.call(fn, session.live(fn), ...leading, struct, out, length);
  if (length[0] !== cipher.c2.length) {
    out.fill(0);
    throw new RangeError(`${fn} returned ${length[0]} bytes for a ${cipher.c2.length}-byte ciphertext`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

const methods: Pick<
  SdfSession,
  'generateKeyPairEcc' | 'externalSign' | 'externalEncrypt' | 'externalDecrypt' | 'internalEncrypt' | 'internalDecrypt'
> = {
  async generateKeyPairEcc(this: SdfSession) {
    const fn = 'SDF_GenerateKeyPair_ECC';
    const field = this.library.options.eccFieldBytes;
    const pub = Buffer.alloc(publicKeyStructSize(field));
    const priv = Buffer.alloc(privateKeyStructSize(field));
    try {
      await this.library.call(fn, this.live(fn), SGD.SGD_SM2, 256, pub, priv);
      return { publicKey: decodePublicKey(pub, field, fn), privateKey: decodePrivateKey(priv, field, fn) };
    } finally {
      priv.fill(0);
    }
  },

  async externalSign(this: SdfSession, privateKey: Uint8Array, digest: Uint8Array) {
    const fn = 'SDF_ExternalSign_ECC';
    requireBytes(digest, 'digest', SM2_VALUE_BYTES);
    const field = this.library.options.eccFieldBytes;
    return withPrivateKey(this, privateKey, async (key) => {
      const out = Buffer.alloc(signatureStructSize(field));
      await this.library.call(fn, this.live(fn), SGD.SGD_SM2_1, key, digest, digest.length, out);
      return decodeSignature(out, field, fn);
    });
  },

  async externalEncrypt(this: SdfSession, publicKey: Uint8Array, data: Uint8Array) {
    const fn = 'SDF_ExternalEncrypt_ECC';
    requireBytes(publicKey, 'public key', 2 * SM2_VALUE_BYTES);
    requirePlaintext(data);
    const field = this.library.options.eccFieldBytes;
    const out = Buffer.alloc(cipherStructSize(field, data.length));
    const key = encodePublicKey(publicKey, field);
    await this.library.call(fn, this.live(fn), SGD.SGD_SM2_3, key, data, data.length, out);
    return decodeCipher(out, field, fn);
  },

  async externalDecrypt(this: SdfSession, privateKey: Uint8Array, cipher: Sm2Ciphertext) {
    requireCipher(cipher);
    return withPrivateKey(this, privateKey, (key) =>
      decryptCall(this, 'SDF_ExternalDecrypt_ECC', [SGD.SGD_SM2_3, key], cipher),
    );
  },

  async internalEncrypt(this: SdfSession, keyIndex: number, data: Uint8Array) {
    const fn = 'SDF_InternalEncrypt_ECC';
    requireIndex(keyIndex);
    requirePlaintext(data);
    const field = this.library.options.eccFieldBytes;
    const out = Buffer.alloc(cipherStructSize(field, data.length));
    await this.library.call(fn, this.live(fn), keyIndex, SGD.SGD_SM2_3, data, data.length, out);
    return decodeCipher(out, field, fn);
  },

  async internalDecrypt(this: SdfSession, keyIndex: number, cipher: Sm2Ciphertext) {
    requireIndex(keyIndex);
    requireCipher(cipher);
    return decryptCall(this, 'SDF_InternalDecrypt_ECC', [keyIndex, SGD.SGD_SM2_3], cipher);
  },
};

Object.assign(SdfSession.prototype, methods);
