/** CK_ATTRIBUTE templates, CK_ULONG arrays and the text fields of PKCS#11 structs. */
import { capacityOf, guardedBuffer, guardIntact } from '../native/guard-bytes';
import { UNAVAILABLE } from './constants';
import { Pkcs11BindingError } from './errors';
import { ULONG_BYTES } from './functions';

export interface TemplateEntry {
  type: number;
  pValue: Buffer | null;
  ulValueLen: number | bigint;
}

/** A CK_ULONG attribute value (CKA_CLASS, CKA_KEY_TYPE …) in the platform's width and byte order. */
export function ulongValue(value: number): Buffer {
  const out = Buffer.alloc(ULONG_BYTES);
  writeUlong(out, value);
  return out;
}

export function writeUlong(bytes: Buffer, value: number): void {
  bytes.writeUInt32LE(value % 2 ** 32, 0);
  if (ULONG_BYTES === 8) bytes.writeUInt32LE(Math.floor(value / 2 ** 32), 4);
}

export function readUlong(bytes: Buffer): number {
  const low = bytes.readUInt32LE(0);
  return ULONG_BYTES === 8 ? bytes.readUInt32LE(4) * 2 ** 32 + low : low;
}

/** A search template: attribute type → value bytes. */
export function template(entries: readonly (readonly [number, Buffer])[]): TemplateEntry[] {
  return entries.map(([type, value]) => ({ type, pValue: value, ulValueLen: value.length }));
}

/** A buffer for `count` CK_ULONGs (slot IDs, object handles, mechanisms), with guard bytes. */
export function ulongArray(count: number): Buffer {
  return guardedBuffer(Math.max(1, count) * ULONG_BYTES);
}

export function readUlongArray(buffer: Buffer, count: number, fn: string): number[] {
  if (!guardIntact(buffer) || count * ULONG_BYTES > capacityOf(buffer)) {
    throw new Pkcs11BindingError('PKCS11_BAD_RESPONSE', `${fn} wrote more entries than it had room for`, { fn });
  }
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(readUlong(buffer.subarray(i * ULONG_BYTES)));
  return out;
}

/** A length a module reported: a number, or undefined for CK_UNAVAILABLE_INFORMATION. */
export function reportedLength(length: number | bigint): number | undefined {
  if (typeof length === 'bigint') return length === UNAVAILABLE || length > 0xffffffffn ? undefined : Number(length);
  return length < 0 ? undefined : length;
}

/** A blank-padded fixed-width text field of a PKCS#11 struct. */
export function paddedText(bytes: readonly number[]): string {
  return Buffer.from(bytes)
    .toString('utf8')
    .replace(/[\0 ]+$/, '');
}
