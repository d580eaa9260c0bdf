// Just enough DER to read and write SM2 keys and signatures. Readers throw TypeError with a short
// reason; callers add context. Nothing here ever puts content bytes into a message.

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;
export const TAG_CONTEXT_0 = 0xa0;
export const TAG_CONTEXT_1 = 0xa1;

export interface Tlv {
  tag: number;
  /** offset of the first content byte */
  start: number;
  /** offset just past the content */
  end: number;
}

/** Reads one TLV at `offset`; it must end at or before `limit`. Definite, minimal lengths only. */
export function readTlv(buf: Uint8Array, offset: number, limit: number = buf.length): Tlv {
  if (offset + 2 > limit) throw new TypeError('truncated DER');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new TypeError('unsupported DER tag');
  const lenByte = buf[offset + 1];
  let pos = offset + 2;
  let length: number;
  if (lenByte < 0x80) {
    length = lenByte;
  } else {
    const count = lenByte & 0x7f;
    if (count === 0) throw new TypeError('indefinite DER length');
    if (count > 4) throw new TypeError('DER length too large');
    if (pos + count > limit) throw new TypeError('truncated DER');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos + i];
    if (buf[pos] === 0 || length < 0x80) throw new TypeError('non-minimal DER length');
    pos += count;
  }
  if (pos + length > limit) throw new TypeError('truncated DER');
  return { tag, start: pos, end: pos + length };
}

export function expectTlv(buf: Uint8Array, offset: number, limit: number, tag: number, what: string): Tlv {
  const tlv = readTlv(buf, offset, limit);
  if (tlv.tag !== tag) throw new TypeError(`expected ${what}`);
  return tlv;
}

/** Reads children of a constructed TLV until its end. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    const tlv = readTlv(buf, pos, parent.end);
    out.push(tlv);
    pos = tlv.end;
  }
  return out;
}

/** Small non-negative INTEGER (versions). */
export function readSmallInteger(buf: Uint8Array, tlv: Tlv): number {
  const len = tlv.end - tlv.start;
  if (tlv.tag !== TAG_INTEGER || len < 1 || len > 4) throw new TypeError('expected a small INTEGER');
  if (buf[tlv.start] & 0x80) throw new TypeError('negative INTEGER');
  let v = 0;
  for (let i = tlv.start; i < tlv.end; i++) v = v * 256 + buf[i];
  return v;
}

export function decodeOid(buf: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== TAG_OID || tlv.end === tlv.start) throw new TypeError('expected an OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (let i = tlv.start; i < tlv.end; i++) {
    const b = buf[i];
    if (fresh && b === 0x80) throw new TypeError('non-minimal OBJECT IDENTIFIER');
    if (value > 2 ** 45) throw new TypeError('OBJECT IDENTIFIER arc too large');
    value = value * 128 + (b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  if (!fresh) throw new TypeError('truncated OBJECT IDENTIFIER');
  return arcs.join('.');
}

function encodeLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export function encodeTlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const c of contents) length += c.length;
  const header = [tag, ...encodeLength(length)];
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let pos = header.length;
  for (const c of contents) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const body: number[] = [];
  const values = [arcs[0] * 40 + arcs[1], ...arcs.slice(2)];
  for (const v of values) {
    const chunk = [v & 0x7f];
    for (let rest = Math.floor(v / 128); rest > 0; rest = Math.floor(rest / 128)) chunk.unshift(0x80 | (rest & 0x7f));
    body.push(...chunk);
  }
  return encodeTlv(TAG_OID, new Uint8Array(body));
}

/** Unsigned big-endian magnitude → minimal DER INTEGER. */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.length === 0 ? new Uint8Array([0]) : magnitude.subarray(i);
  return trimmed[0] & 0x80 ? encodeTlv(TAG_INTEGER, new Uint8Array([0]), trimmed) : encodeTlv(TAG_INTEGER, trimmed);
}
