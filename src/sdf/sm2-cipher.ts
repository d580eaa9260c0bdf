/**
 * SM2 ciphertext formats. The default byte order is C1C3C2 (GM/T 0009-2012, GB/T 35276), with C1
 * as an uncompressed point 04||x||y; C1C2C3 is the order of the 2010 draft that some libraries
 * still use (sm-crypto's cipherMode 0). OpenSSL writes DER: SEQUENCE { INTEGER x, INTEGER y,
 * OCTET STRING C3, OCTET STRING C2 } (GM/T 0009).
 */
import { encodeTlv, encodeUnsignedInteger, readTlv, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE } from '../sm2/asn1';
import type { Sm2Ciphertext } from './ecc-structs';

export type Sm2CipherOrder = 'C1C3C2' | 'C1C2C3';

export interface Sm2CipherBytesOptions {
  /** Default C1C3C2. */
  order?: Sm2CipherOrder;
  /** Whether C1 starts with the 0x04 point marker. Default true. */
  pointPrefix?: boolean;
}

function check(cipher: Sm2Ciphertext): void {
  if (cipher.c1?.length !== 64 || cipher.c3?.length !== 32 || !(cipher.c2 instanceof Uint8Array)) {
    throw new TypeError('SM2 ciphertext must have c1 (64 bytes x||y), c3 (32 bytes) and c2 (Uint8Array)');
  }
}

export function sm2CipherToBytes(cipher: Sm2Ciphertext, opts: Sm2CipherBytesOptions = {}): Uint8Array {
  check(cipher);
  const c1 = opts.pointPrefix === false ? cipher.c1 : Buffer.concat([Buffer.from([4]), cipher.c1]);
  const parts = opts.order === 'C1C2C3' ? [c1, cipher.c2, cipher.c3] : [c1, cipher.c3, cipher.c2];
  return new Uint8Array(Buffer.concat(parts));
}

export function sm2CipherFromBytes(bytes: Uint8Array, opts: Sm2CipherBytesOptions = {}): Sm2Ciphertext {
  const prefix = opts.pointPrefix === false ? 0 : 1;
  if (!(bytes instanceof Uint8Array) || bytes.length < prefix + 64 + 32 + 1) {
    throw new RangeError(`SM2 ciphertext must be at least ${prefix + 97} bytes`);
  }
  if (prefix && bytes[0] !== 4) throw new RangeError('SM2 ciphertext: C1 does not start with 04 (uncompressed point)');
  const c1 = bytes.slice(prefix, prefix + 64);
  const rest = bytes.subarray(prefix + 64);
  if (opts.order === 'C1C2C3') return { c1, c2: rest.slice(0, rest.length - 32), c3: rest.slice(rest.length - 32) };
  return { c1, c3: rest.slice(0, 32), c2: rest.slice(32) };
}

export function sm2CipherToDer(cipher: Sm2Ciphertext): Uint8Array {
  check(cipher);
  return encodeTlv(
    TAG_SEQUENCE,
    encodeUnsignedInteger(cipher.c1.subarray(0, 32)),
    encodeUnsignedInteger(cipher.c1.subarray(32)),
    encodeTlv(TAG_OCTET_STRING, cipher.c3),
    encodeTlv(TAG_OCTET_STRING, cipher.c2),
  );
}

export function sm2CipherFromDer(der: Uint8Array): Sm2Ciphertext {
  const seq = readTlv(der, 0);
  if (seq.tag !== TAG_SEQUENCE || seq.end !== der.length) throw new TypeError('DER SM2 ciphertext: not one SEQUENCE');
  const fields = [];
  for (let at = seq.start; at < seq.end;) {
    const tlv = readTlv(der, at, seq.end);
    fields.push(tlv);
    at = tlv.end;
  }
  const tags = fields.map((f) => f.tag).join(',');
  if (tags !== [TAG_INTEGER, TAG_INTEGER, TAG_OCTET_STRING, TAG_OCTET_STRING].join(',')) {
    throw new TypeError('DER SM2 ciphertext: expected INTEGER x, INTEGER y, OCTET STRING C3, OCTET STRING C2');
  }
  const c1 = new Uint8Array(64);
  fields.slice(0, 2).forEach((f, i) => {
    let value = der.subarray(f.start, f.end);
    while (value.length > 32 && value[0] === 0) value = value.subarray(1);
    if (value.length > 32) throw new TypeError('DER SM2 ciphertext: a coordinate is longer than 32 bytes');
    c1.set(value, 32 * i + 32 - value.length);
  });
  const c3 = der.slice(fields[2].start, fields[2].end);
  if (c3.length !== 32) throw new TypeError('DER SM2 ciphertext: C3 is not 32 bytes');
  return { c1, c3, c2: der.slice(fields[3].start, fields[3].end) };
}
