/**
 * Codecs of the GM/T 0018 structures that carry key material or SM2 ciphertext:
 * ECCrefPrivateKey { unsigned int bits; K[field]; } and
 * ECCCipher { x[field]; y[field]; M[32]; unsigned int L; C[L]; }.
 *
 * ECCCipher's C is declared `C[1]` in the standard and GmSSL's sdf.h (the caller allocates room
 * for L bytes), `C[136]` in some vendor headers, and `C[1]` plus fixed padding to 419 bytes in
 * others, whose libraries clear the whole struct before filling it. The binding allocates the
 * largest of these layouts, or header plus L when that is larger, and reads exactly L bytes back.
 */
import { capacityOf, guardedBuffer } from '../native/guard-bytes';
import { SdfBindingError } from './errors';
import { checkOutput, EccFieldBytes, putValue, SM2_VALUE_BYTES, structBuffer, takeValue } from './structs';

/** SM2 ciphertext: C1 = x||y (64 bytes), C3 = SM3(x2||M||y2) (32 bytes), C2 (as long as M). */
export interface Sm2Ciphertext {
  c1: Uint8Array;
  c3: Uint8Array;
  c2: Uint8Array;
}

/** sizeof(ECCCipher) of the largest fixed layout in the field (C[1] and padding), rounded up. */
const LARGEST_FIXED_CIPHER = 420;

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
  const size = Math.max(LARGEST_FIXED_CIPHER, cipherHeaderSize(64) + length);
  return Math.ceil(size / 4) * 4;
}

/** ECCrefPrivateKey from a 32-byte d. The caller zeroes the buffer after use. */
export function encodePrivateKey(privateKey: Uint8Array, field: EccFieldBytes): Buffer {
  const out = guardedBuffer(privateKeyStructSize(field), true);
  out.writeUInt32LE(256, 0);
  putValue(out, 4, field, privateKey);
  return out;
}

export function decodePrivateKey(struct: Buffer, field: EccFieldBytes, fn: string): Uint8Array {
  checkOutput(struct, 4 + field, fn);
  const bits = struct.readUInt32LE(0);
  if (bits !== 256) {
    throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned a ${bits}-bit private key where SM2 has 256 bits`, {
      fn,
    });
  }
  return new Uint8Array(takeValue(struct, 4, field, 'a private key', fn));
}

export function encodeCipher(cipher: Sm2Ciphertext, field: EccFieldBytes): Buffer {
  const out = structBuffer(cipherStructSize(field, cipher.c2.length));
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
  const room = capacityOf(struct) - header;
  if (length > room) {
    throw new SdfBindingError(
      'SDF_BAD_RESPONSE',
      `${fn} returned an ECCCipher with L = ${length}, more than the ${room} bytes allocated for C`,
      { fn },
    );
  }
  checkOutput(struct, header + length, fn);
  const c1 = new Uint8Array(2 * SM2_VALUE_BYTES);
  c1.set(takeValue(struct, 0, field, 'C1.x', fn), 0);
  c1.set(takeValue(struct, field, field, 'C1.y', fn), SM2_VALUE_BYTES);
  return {
    c1,
    c3: new Uint8Array(struct.subarray(2 * field, 2 * field + SM2_VALUE_BYTES)),
    c2: new Uint8Array(struct.subarray(header, header + length)),
  };
}
