import { SdfBindingError } from './errors';
import { algorithmNames, SgdName } from './codes';

/** Bytes of an SM2 coordinate or scalar (256 bits). */
export const SM2_VALUE_BYTES = 32;

/**
 * Width of the value fields in ECCrefPublicKey / ECCSignature: 64 bytes for the standard's
 * ECCref_MAX_BITS = 512, 32 bytes for vendors that compiled with 256.
 */
export type EccFieldBytes = 64 | 32;

/**
 * Structs are allocated for 64-byte fields whatever the profile says: a library built with
 * ECCref_MAX_BITS 512 but configured as 256 then writes inside the buffer rather than past it,
 * and the non-zero bytes after the 32-byte layout reveal the mismatch (checkTail).
 */
const WIDEST: EccFieldBytes = 64;

/** Bytes to allocate for an ECCrefPublicKey (the 64-byte-field size, see WIDEST). */
export function publicKeyStructSize(_field: EccFieldBytes): number {
  return 4 + 2 * WIDEST;
}

/** Bytes to allocate for an ECCSignature (the 64-byte-field size, see WIDEST). */
export function signatureStructSize(_field: EccFieldBytes): number {
  return 2 * WIDEST;
}

/**
 * A zeroed buffer for a struct passed to the library, taken from Node's buffer pool: a fresh
 * Buffer.alloc costs 8 times as much (590 against 75 ns for 128 bytes), on every signature.
 * Not for key material, which gets a buffer of its own to zero after use.
 */
export function structBuffer(size: number): Buffer {
  return Buffer.allocUnsafe(size).fill(0);
}

function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Fails when the library wrote past the `used` bytes its configured layout has. */
export function checkTail(struct: Buffer, used: number, fn: string): void {
  if (!isZero(struct, used, struct.length)) {
    throw new SdfBindingError(
      'SDF_BAD_RESPONSE',
      `${fn} wrote more than the ${used} bytes of the configured 32-byte-field layout ` +
        '(is the library built with ECCref_MAX_BITS 512? use the standard profile / hsm_ecc_field_bytes=64)',
      { fn },
    );
  }
}

/** Writes a 32-byte value right-aligned (big-endian, zero padding first) into a field. */
export function putValue(target: Buffer, offset: number, field: EccFieldBytes, value: Uint8Array): void {
  target.fill(0, offset, offset + field - SM2_VALUE_BYTES);
  target.set(value, offset + field - SM2_VALUE_BYTES);
}

/** The 32-byte value right-aligned in a field, as a view into `source`; its padding must be zero. */
export function takeValue(source: Buffer, offset: number, field: EccFieldBytes, what: string, fn: string): Buffer {
  if (!isZero(source, offset, offset + field - SM2_VALUE_BYTES)) {
    throw new SdfBindingError(
      'SDF_BAD_RESPONSE',
      `${fn} returned ${what} with non-zero padding: a ${field}-byte field holding more than 256 bits ` +
        `(is the library built with a different ECCref_MAX_BITS? set the field width in the profile)`,
      { fn },
    );
  }
  return source.subarray(offset + field - SM2_VALUE_BYTES, offset + field);
}

/** ECCrefPublicKey { unsigned int bits; x[field]; y[field]; } from a 64-byte x||y. */
export function encodePublicKey(publicKey: Uint8Array, field: EccFieldBytes): Buffer {
  const out = structBuffer(publicKeyStructSize(field));
  out.writeUInt32LE(256, 0);
  putValue(out, 4, field, publicKey.subarray(0, SM2_VALUE_BYTES));
  putValue(out, 4 + field, field, publicKey.subarray(SM2_VALUE_BYTES, 2 * SM2_VALUE_BYTES));
  return out;
}

export function decodePublicKey(struct: Buffer, field: EccFieldBytes, fn: string): Uint8Array {
  checkTail(struct, 4 + 2 * field, fn);
  const bits = struct.readUInt32LE(0);
  if (bits !== 256) {
    throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned a ${bits}-bit key where SM2 has 256 bits`, { fn });
  }
  const out = new Uint8Array(2 * SM2_VALUE_BYTES);
  out.set(takeValue(struct, 4, field, 'x', fn), 0);
  out.set(takeValue(struct, 4 + field, field, 'y', fn), SM2_VALUE_BYTES);
  return out;
}

/** ECCSignature { r[field]; s[field]; } from a 64-byte r||s. */
export function encodeSignature(signature: Uint8Array, field: EccFieldBytes): Buffer {
  const out = structBuffer(signatureStructSize(field));
  putValue(out, 0, field, signature.subarray(0, SM2_VALUE_BYTES));
  putValue(out, field, field, signature.subarray(SM2_VALUE_BYTES, 2 * SM2_VALUE_BYTES));
  return out;
}

export function decodeSignature(struct: Buffer, field: EccFieldBytes, fn: string): Uint8Array {
  checkTail(struct, 2 * field, fn);
  const out = new Uint8Array(2 * SM2_VALUE_BYTES);
  out.set(takeValue(struct, 0, field, 'r', fn), 0);
  out.set(takeValue(struct, field, field, 's', fn), SM2_VALUE_BYTES);
  return out;
}

/** DEVICEINFO: 40 + 16 + 16 bytes of text, then eight unsigned ints. */
export const DEVICE_INFO_SIZE = 40 + 16 + 16 + 8 * 4;

export interface DeviceInfo {
  issuerName: string;
  deviceName: string;
  deviceSerial: string;
  deviceVersion: number;
  standardVersion: number;
  /** Asymmetric algorithms the device offers, e.g. `['SGD_SM2_1', 'SGD_SM2_3']`. */
  asymmetricAlgorithms: SgdName[];
  /** Largest asymmetric key in bits (AsymAlgAbility[1]). */
  asymmetricMaxBits: number;
  symmetricAlgorithms: SgdName[];
  hashAlgorithms: SgdName[];
  /** Largest single input the device accepts, in bytes. */
  bufferSize: number;
  raw: { asymAlgAbility: [number, number]; symAlgAbility: number; hashAlgAbility: number };
}

const ASYMMETRIC: readonly SgdName[] = ['SGD_SM2_1', 'SGD_SM2_2', 'SGD_SM2_3'];
const SYMMETRIC: readonly SgdName[] = ['SGD_SM1_ECB', 'SGD_SM1_CBC', 'SGD_SM4_ECB', 'SGD_SM4_CBC', 'SGD_SM4_MAC'];
const HASH: readonly SgdName[] = ['SGD_SM3', 'SGD_SHA1', 'SGD_SHA256'];

function text(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes
    .subarray(0, end === -1 ? bytes.length : end)
    .toString('latin1')
    .trim();
}

export function decodeDeviceInfo(struct: Buffer): DeviceInfo {
  const ints = (index: number) => struct.readUInt32LE(72 + 4 * index);
  const asymAlgAbility: [number, number] = [ints(2), ints(3)];
  return {
    issuerName: text(struct.subarray(0, 40)),
    deviceName: text(struct.subarray(40, 56)),
    deviceSerial: text(struct.subarray(56, 72)),
    deviceVersion: ints(0),
    standardVersion: ints(1),
    asymmetricAlgorithms: algorithmNames(asymAlgAbility[0], ASYMMETRIC),
    asymmetricMaxBits: asymAlgAbility[1],
    symmetricAlgorithms: algorithmNames(ints(4), SYMMETRIC),
    hashAlgorithms: algorithmNames(ints(5), HASH),
    bufferSize: ints(6),
    raw: { asymAlgAbility, symAlgAbility: ints(4), hashAlgAbility: ints(5) },
  };
}
