/**
 * Codecs of the GM/T 0018 structures that carry key material or SM2 ciphertext:
 * ECCrefPrivateKey { unsigned int bits; K[field]; } and
 * ECCCipher { x[field]; y[field]; M[32]; unsigned int L; C[L]; }.
 *
 * ECCCipher's C is declared `C[1]` in the standard and GmSSL's sdf.h (the caller allocates room
 * for L bytes) and `C[136]` in some vendor headers. The binding allocates the header plus at least
 * 136 bytes, or L when it is larger, so either declaration has room; it reads exactly L bytes back.
 */
import { SdfBindingError } from './errors';
import { checkTail, EccFieldBytes, putValue, SM2_VALUE_BYTES, takeValue } from './structs';

/** SM2 ciphertext: C1 = x||y (64 bytes), C3 = SM3(x2||M||y2) (32 bytes), C2 (as long as M). */
export interface Sm2Ciphertext {
  c1: Uint8Array;
  c3: Uint8Array;
  c2: Uint8Array;
}

/** The largest fixed C a vendor header declares (ECCref_MAX_CIPHER_LEN). */
const VENDOR_FIXED_C = 136;

/** Bytes to allocate: the 64-byte-field size whatever `field` is (see structs.ts, WIDEST). */
export function privateKeyStructSize(_field: EccFieldBytes): number {
  return 4 + 64;
}

/** Offset of C in ECCCipher: x, y, M[32], then the 4-byte L. */
export function cipherHeaderSize(field: EccFieldBytes): number {
  return 2 * field + SM2_VALUE_BYTES + 4;
}

/**
 * Bytes to allocate for an ECCCipher holding `length` bytes of C, rounded to the struct's
 * alignment; sized with the 64-byte-field header whatever `field` is (see structs.ts, WIDEST).
 */
export function cipherStructSize(_field: EccFieldBytes, length: number): number {
  const size = cipherHeaderSize(64) + Math.max(length, VENDOR_FIXED_C);
  return Math.ceil(size / 4) * 4;
}

/** ECCrefPrivateKey from a 32-byte d. The caller zeroes the buffer after use. */
export function encodePrivateKey(privateKey: Uint8Array, field: EccFieldBytes): Buffer {
  const out = Buffer.alloc(privateKeyStructSize(field));
  out.writeUInt32LE(256, 0);
  putValue(out, 4, field, privateKey);
  return out;
}

export function decodePrivateKey(struct: Buffer, field: EccFieldBytes, fn: string): Uint8Array {
  checkTail(struct, 4 + field, fn);
  const bits = struct.readUInt32LE(0);
  if (bits !== 256) {
    throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned a ${bits}-bit private key where SM2 has 256 bits`, {
      fn,
    });
  }
  return new Uint8Array(takeValue(struct, 4, field, 'a private key', fn));
}

export function encodeCipher(cipher: Sm2Ciphertext, field: EccFieldBytes): Buffer {
  const out = Buffer.alloc(cipherStructSize(field, cipher.c2.length));
  putValue(out, 0, field, cipher.c1.subarray(0, SM2_VALUE_BYTES));
  putValue(out, field, field, cipher.c1.subarray(SM2_VALUE_BYTES));
  out.set(cipher.c3, 2 * field);
  out.writeUInt32LE(cipher.c2.length, 2 * field + SM2_VALUE_BYTES);
  out.set(cipher.c2, cipherHeaderSize(field));
  return out;
}

export function decodeCipher(struct: Buffer, field: EccFieldBytes, fn: string): Sm2Ciphertext {
  const header = cipherHeaderSize(field);
  const length = struct.readUInt32LE(2 * field + SM2_VALUE_BYTES);
  checkTail(struct, header + length, fn);
  if (length > struct.length - header) {
    throw new SdfBindingError(
      'SDF_BAD_RESPONSE',
      `${fn} returned an ECCCipher with L = ${length}, more than the ${struct.length - header} bytes allocated for C`,
      { fn },
    );
  }
  const c1 = new Uint8Array(2 * SM2_VALUE_BYTES);
  c1.set(takeValue(struct, 0, field, 'C1.x', fn), 0);
  c1.set(takeValue(struct, field, field, 'C1.y', fn), SM2_VALUE_BYTES);
  return {
    c1,
    c3: new Uint8Array(struct.subarray(2 * field, 2 * field + SM2_VALUE_BYTES)),
    c2: new Uint8Array(struct.subarray(header, header + length)),
  };
}
