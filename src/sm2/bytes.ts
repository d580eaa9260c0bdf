const HEX_DIGITS = '0123456789abcdef';
const BYTE_TO_HEX: string[] = [];
for (let i = 0; i < 256; i++) BYTE_TO_HEX.push(HEX_DIGITS[i >> 4] + HEX_DIGITS[i & 15]);

// Maps a char code to its nibble value, 255 for anything that is not a hex digit.
const HEX_VALUE = new Uint8Array(128).fill(255);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[65 + i] = 10 + i;
  HEX_VALUE[97 + i] = 10 + i;
}

export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describeType(value)}`);
  }
}

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
function baseGetter<T>(name: string | symbol): (view: unknown) => T {
  const get = Object.getOwnPropertyDescriptor(typedArrayPrototype, name)?.get as () => T;
  return (view) => Reflect.apply(get, view, []);
}
const bufferOf = baseGetter<ArrayBufferLike>('buffer');
const byteOffsetOf = baseGetter<number>('byteOffset');
const byteLengthOf = baseGetter<number>('byteLength');
const typedArrayTagOf = baseGetter<string | undefined>(Symbol.toStringTag);

/**
 * A plain Uint8Array over the same bytes, found through the base class's own getters: whatever a
 * subclass (or the object itself) overrides — `length`, `subarray`, indexing helpers — is never
 * consulted again. No copy is made. A detached buffer reads as no bytes.
 */
export function plainBytes(value: unknown, name: string): Uint8Array {
  assertBytes(value, name);
  // instanceof only looks at the prototype chain; the tag getter asks the engine what it is.
  if (typedArrayTagOf(value) !== 'Uint8Array') {
    throw new TypeError(`${name} must be a Uint8Array, got ${describeType(value)}`);
  }
  const length = byteLengthOf(value);
  return length === 0 ? new Uint8Array(0) : new Uint8Array(bufferOf(value), byteOffsetOf(value), length);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

export function bytesToHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_HEX[bytes[i]];
  return out;
}

/** Strict: even length, only [0-9a-fA-F], no prefix, no whitespace. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`hex must be a string, got ${describeType(hex)}`);
  if (hex.length % 2 !== 0) throw new TypeError(`hex string has odd length ${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const c1 = hex.charCodeAt(2 * i);
    const c2 = hex.charCodeAt(2 * i + 1);
    const hi = c1 < 128 ? HEX_VALUE[c1] : 255;
    const lo = c2 < 128 ? HEX_VALUE[c2] : 255;
    if (hi === 255 || lo === 255) {
      throw new TypeError(`hex string has a non-hex character at offset ${hi === 255 ? 2 * i : 2 * i + 1}`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

export function isHex(text: string): boolean {
  if (text.length % 2 !== 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || HEX_VALUE[c] === 255) return false;
  }
  return true;
}

/** Big-endian unsigned bytes → bigint (empty → 0n). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let hex = '0x';
  for (let i = 0; i < bytes.length; i++) hex += BYTE_TO_HEX[bytes[i]];
  return BigInt(hex);
}

/** bigint in [0, 2^256) → 32 big-endian bytes. Callers guarantee the range. */
export function bigIntTo32Bytes(value: bigint): Uint8Array {
  const hex = value.toString(16);
  const out = new Uint8Array(32);
  // Fill from the right so that leading zeros stay zero.
  let j = hex.length;
  for (let i = 31; i >= 0 && j > 0; i--) {
    const lo = HEX_VALUE[hex.charCodeAt(--j)];
    const hi = j > 0 ? HEX_VALUE[hex.charCodeAt(--j)] : 0;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const utf8 = new TextEncoder();

export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

/** True when every byte is printable ASCII or whitespace, i.e. the bytes are PEM or hex text. */
export function isAsciiText(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if ((b < 0x20 || b > 0x7e) && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return true;
}

export function hasUtf8Bom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf && isAsciiText(bytes.subarray(3))
  );
}
