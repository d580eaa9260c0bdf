import { capacityOf, guardedBuffer, guardIntact } from '../native/guard-bytes';
import { SM2_N } from '../sm2/curve';
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
 * and the non-zero bytes after the 32-byte layout reveal the mismatch (checkOutput).
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

/** A zeroed struct for the library to read or fill, with guard bytes after it (guard-bytes.ts). */
export function structBuffer(size: number): Buffer {
  return guardedBuffer(size);
}

function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Fails when the library wrote past the buffer it was given (its guard bytes changed) or past the
 * `used` bytes its configured layout has.
 */
export function checkOutput(struct: Buffer, used: number, fn: string): void {
  if (!guardIntact(struct)) {
    throw new SdfBindingError(
      'SDF_BAD_RESPONSE',
      `${fn} wrote past the ${capacityOf(struct)}-byte buffer it was given (its struct is larger than the ` +
        'standard layout: check the vendor header and the profile)',
      { fn },
    );
  }
  if (!isZero(struct, used, capacityOf(struct))) {
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
  checkOutput(struct, 4 + 2 * field, fn);
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

/** The order n of the SM2 group: r and s of a signature lie in [1, n-1]. */
const SM2_ORDER = Buffer.from(SM2_N.toString(16).padStart(64, '0'), 'hex');

export function decodeSignature(struct: Buffer, field: EccFieldBytes, fn: string): Uint8Array {
  checkOutput(struct, 2 * field, fn);
  const r = takeValue(struct, 0, field, 'r', fn);
  const s = takeValue(struct, field, field, 's', fn);
  requireScalar(r, 'r', fn);
  requireScalar(s, 's', fn);
  const out = new Uint8Array(2 * SM2_VALUE_BYTES);
  out.set(r, 0);
  out.set(s, SM2_VALUE_BYTES);
  return out;
}

/** r and s of an SM2 signature lie in [1, n-1]. */
function requireScalar(value: Buffer, name: string, fn: string): void {
  if (isZero(value, 0, value.length) || Buffer.compare(value, SM2_ORDER) >= 0) {
    throw new SdfBindingError('SDF_BAD_RESPONSE', `${fn} returned a signature whose ${name} is not in [1, n-1]`, {
      fn,
    });
  }
}

/** DEVICEINFO: 40 + 16 + 16 bytes of text, then eight unsigned ints. */
export const DEVICE_INFO_SIZE = 40 + 16 + 16 + 8 * 4;
/** Room given for DEVICEINFO: some vendors append fields of their own after the standard ones. */
export const DEVICE_INFO_CAPACITY = 512;

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
const SYMMETRIC: readonly SgdName[] = [
  'SGD_SM1_ECB',
  'SGD_SM1_CBC',
  'SGD_SM4_ECB',
  'SGD_SM4_CBC',
  'SGD_SM4_CFB',
  'SGD_SM4_OFB',
  'SGD_SM4_MAC',
];
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
