import { TAG_INTEGER, TAG_SEQUENCE, encodeTlv, encodeUnsignedInteger, readTlv, type Tlv } from './asn1';
import { assertBytes, concatBytes } from './bytes';
import { normalizePublicKey } from './keys';

function assertRawSignature(signature: Uint8Array): void {
  assertBytes(signature, 'signature');
  if (signature.length !== 64) throw new TypeError(`signature must be 64 bytes r||s, got ${signature.length}`);
}

/** 64-byte r||s → DER SEQUENCE { INTEGER r, INTEGER s } with minimal integers. */
export function signatureToDer(signature: Uint8Array): Uint8Array {
  assertRawSignature(signature);
  return encodeTlv(
    TAG_SEQUENCE,
    encodeUnsignedInteger(signature.subarray(0, 32)),
    encodeUnsignedInteger(signature.subarray(32, 64)),
  );
}

function readStrictUnsigned(der: Uint8Array, tlv: Tlv, name: string, out: Uint8Array, at: number): void {
  if (tlv.tag !== TAG_INTEGER) throw new TypeError(`DER signature: ${name} is not an INTEGER`);
  let len = tlv.end - tlv.start;
  if (len === 0) throw new TypeError(`DER signature: ${name} is empty`);
  let start = tlv.start;
  if (der[start] & 0x80) throw new TypeError(`DER signature: ${name} is negative`);
  if (len > 1 && der[start] === 0 && (der[start + 1] & 0x80) === 0) {
    throw new TypeError(`DER signature: ${name} is not minimally encoded`);
  }
  if (der[start] === 0 && len > 1) {
    start++;
    len--;
  }
  if (len > 32) throw new TypeError(`DER signature: ${name} is longer than 32 bytes`);
  out.set(der.subarray(start, tlv.end), at + 32 - len);
}

/** Strict DER SEQUENCE { INTEGER r, INTEGER s } → 64-byte r||s. */
export function signatureFromDer(der: Uint8Array): Uint8Array {
  assertBytes(der, 'der');
  try {
    return parseDerSignature(der);
  } catch (err) {
    if (err instanceof TypeError && !err.message.startsWith('DER signature')) {
      throw new TypeError(`DER signature: ${err.message}`);
    }
    throw err;
  }
}

function parseDerSignature(der: Uint8Array): Uint8Array {
  const seq = readTlv(der, 0);
  if (seq.tag !== TAG_SEQUENCE) throw new TypeError('DER signature: not a SEQUENCE');
  if (seq.end !== der.length) throw new TypeError('DER signature: trailing bytes after the SEQUENCE');
  const r = readTlv(der, seq.start, seq.end);
  const s = readTlv(der, r.end, seq.end);
  if (s.end !== seq.end) throw new TypeError('DER signature: extra data inside the SEQUENCE');
  const out = new Uint8Array(64);
  readStrictUnsigned(der, r, 'r', out, 0);
  readStrictUnsigned(der, s, 's', out, 32);
  return out;
}

/** FISCO BCOS wire form: r||s||x||y, 128 bytes. */
export function toFiscoSignature(signature: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertRawSignature(signature);
  return concatBytes(signature, normalizePublicKey(publicKey));
}

/** Splits 128 bytes r||s||x||y. Only the length is checked: verify decides the rest. */
export function fromFiscoSignature(fisco: Uint8Array): { signature: Uint8Array; publicKey: Uint8Array } {
  assertBytes(fisco, 'fisco signature');
  if (fisco.length !== 128) throw new TypeError(`FISCO signature must be 128 bytes r||s||x||y, got ${fisco.length}`);
  return { signature: fisco.slice(0, 64), publicKey: fisco.slice(64, 128) };
}

/**
 * A signature in any form in use: 64-byte r||s, 128-byte FISCO r||s||pub (its public key returned
 * too, unchecked), or DER. TypeError for anything else.
 */
export function parseSignature(bytes: Uint8Array): { signature: Uint8Array; publicKey?: Uint8Array } {
  assertBytes(bytes, 'signature');
  if (bytes.length === 64) return { signature: bytes.slice() };
  if (bytes.length === 128) return fromFiscoSignature(bytes);
  try {
    return { signature: signatureFromDer(bytes) };
  } catch (error) {
    throw new TypeError(
      `signature must be 64-byte r||s, 128-byte FISCO r||s||pub or DER, got ${bytes.length} bytes ` +
        `that are none of these (${(error as Error).message})`,
    );
  }
}
